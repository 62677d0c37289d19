"""The two training phases, each a plain function over a :class:`PhaseContext`."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from transferkit.common import callbacks as cb
from transferkit.common.config import RunConfig
from transferkit.common.domain import Domain, PipelineOptions
from transferkit.common.features import choose_mode, extract_features, fingerprint
from transferkit.common.freezing import all_trainable, count_trainable, freeze, unfreeze
from transferkit.common.heads import adapt_head, loss_and_metrics
from transferkit.common.keras import keras, tf
from transferkit.common.labels import LabelCodec
from transferkit.common.optim import make_optimizer
from transferkit.common.splits import Splits

FEATURE_BATCH = 128  # measured: predict at batch 128 beats 32 on CPU


@dataclass(frozen=True)
class PhaseContext:
    config: RunConfig
    run_dir: Path
    domain: Domain
    contract: object
    codec: LabelCodec
    splits: Splits
    backbone: object
    verbose: int = 2
    resume: bool = False

    @property
    def ckpt(self) -> Path:
        return self.run_dir / "checkpoints"

    @property
    def feature_batch_size(self) -> int:
        return max(self.config.train.batch_size, FEATURE_BATCH)

    def dataset(self, split: str, training: bool = False):
        examples = getattr(self.splits, split)
        t = self.config.train
        return self.domain.make_dataset(
            examples.items, self.codec.encode(examples.labels), self.contract,
            PipelineOptions(batch_size=t.batch_size, training=training,
                            augment=training and t.augment, seed=t.seed))


def _log(msg: str) -> None:
    print(f"[transferkit] {msg}", file=sys.stderr, flush=True)


def _callbacks(ctx: PhaseContext, phase: str, target=None) -> list:
    t = ctx.config.train
    calls = [cb.AtomicBestCheckpoint(ctx.ckpt / f"{phase}_best_weights.h5", model_to_save=target),
             cb.PhaseHistory(ctx.run_dir / "history.csv", phase),
             cb.ResumeState(ctx.ckpt, phase, model_to_save=target)]
    if t.early_stopping_patience:
        calls.append(keras.callbacks.EarlyStopping(
            patience=t.early_stopping_patience, restore_best_weights=True))
    if t.tensorboard:
        calls.append(keras.callbacks.TensorBoard(str(ctx.run_dir / "tensorboard" / phase)))
    return calls


def _resume_point(ctx: PhaseContext, phase: str, target) -> tuple[bool, int]:
    """(phase already done, initial epoch), loading saved weights into ``target``."""
    if not ctx.resume:
        return False, 0
    state = cb.read_state(ctx.ckpt).get(phase, {})
    if state.get("done"):
        target.load_weights(str(ctx.ckpt / f"{phase}_final_weights.h5"))
        _log(f"resume: {phase} already done, loaded its weights")
        return True, 0
    epoch = int(state.get("epoch", 0))
    if epoch:
        target.load_weights(str(ctx.ckpt / f"{phase}_last_weights.h5"))
        _log(f"resume: {phase} from epoch {epoch}")
    return False, epoch


def _save_weights(model, path: Path) -> None:
    from transferkit.common.io import atomic_path

    with atomic_path(path) as tmp:
        model.save_weights(str(tmp), save_format="h5")


def _mark_done(ctx: PhaseContext, phase: str, target) -> None:
    _save_weights(target, ctx.ckpt / f"{phase}_final_weights.h5")
    state = cb.read_state(ctx.ckpt)
    state[phase] = {"done": True}
    cb.write_state(ctx.ckpt, state)


def cached_features(ctx: PhaseContext) -> dict:
    """Features of every split from the frozen backbone (the embedding cache)."""
    t = ctx.config.train
    shape = tuple(ctx.backbone.output_shape[1:])
    mode = choose_mode(t.embedding_cache, len(ctx.splits.train), shape)
    weights_key = fingerprint([float(np.sum(w)) for w in ctx.backbone.get_weights()[:8]])
    out = {}
    for split in ("train", "validation", "test"):
        examples = getattr(ctx.splits, split)
        if examples is None or len(examples) == 0:
            continue
        order = (ctx.domain.extraction_order(examples.items, ctx.contract)
                 if ctx.domain.extraction_order else None)
        items = examples.items if order is None else [examples.items[i] for i in order]
        ds = ctx.domain.make_dataset(items, None, ctx.contract,
                                     PipelineOptions(batch_size=ctx.feature_batch_size))
        key = fingerprint(ctx.config.backbone, weights_key, examples.items, ctx.contract)
        out[split] = extract_features(
            ctx.backbone, ds, len(examples), mode=mode, order=order,
            path=ctx.run_dir / "features" / f"{split}.npy", key=key, desc=f"{split} features")
    return out


def train_head(ctx: PhaseContext, head) -> tuple[dict | None, dict | None]:
    """Phase 1: the head on a frozen backbone.

    Returns:
        (the cached features, if used; what the head fitter chose, for ``metrics.json``).
    """
    from transferkit.common.head_fit import fit_cached_head

    t = ctx.config.train
    freeze(ctx.backbone)
    loss, metrics = loss_and_metrics(ctx.codec.task)
    use_cache = t.embedding_cache != "off" and not t.augment
    target = head if use_cache else _frozen_model(ctx, head)
    target.compile(optimizer=make_optimizer(t.learning_rate), loss=loss, metrics=metrics)
    cached = cached_features(ctx) if use_cache else None
    adapt_head(head, cached["train"] if cached else _sample_features(ctx))
    done, initial = _resume_point(ctx, "phase1", target)  # a checkpoint's stats win
    if done or t.epochs <= 0:
        return cached, None
    if use_cache and t.head_fit == "auto":
        fit = fit_cached_head(ctx, head, cached)
        head.compile(optimizer=make_optimizer(t.learning_rate), loss=loss, metrics=metrics)
        _save_weights(head, ctx.ckpt / "phase1_best_weights.h5")  # the chosen one is the best
        _mark_done(ctx, "phase1", head)
        return cached, fit.to_dict()
    class_weight = _class_weight(ctx)
    if use_cache:
        _log(f"phase 1: head on cached features ({len(ctx.splits.train)} items), "
             f"{t.epochs} epochs")
        train = _feature_ds(cached["train"], ctx.codec.encode(ctx.splits.train.labels),
                            t.batch_size, shuffle=True, seed=t.seed)
        val = _feature_ds(cached["validation"], ctx.codec.encode(ctx.splits.validation.labels),
                          1024)
    else:
        _log("phase 1: head on a frozen backbone (embedding cache off: augmentation on "
             "or embedding_cache=off)")
        train, val = ctx.dataset("train", training=True), ctx.dataset("validation")
    target.fit(train, validation_data=val, epochs=t.epochs, initial_epoch=initial,
               class_weight=class_weight, callbacks=_callbacks(ctx, "phase1", target),
               verbose=ctx.verbose)
    _mark_done(ctx, "phase1", target)
    return cached, {"solver": "adam", "chosen": {"epochs": t.epochs}, "grid": [],
                    "refit": False, "class_weight": t.class_weight}


def _class_weight(ctx: PhaseContext) -> dict | None:
    """Keras ``class_weight`` for ``--class-weight balanced`` (multiclass only)."""
    from transferkit.common.balance import balanced_weights

    if ctx.config.train.class_weight != "balanced" or ctx.codec.task != "multiclass":
        return None
    return balanced_weights(ctx.codec.encode(ctx.splits.train.labels), ctx.codec.num_outputs)


def _sample_features(ctx: PhaseContext, n: int = 2048):
    """Backbone features of up to ``n`` training items (un-augmented), for standardisation."""
    examples = ctx.splits.train.subset(range(min(n, len(ctx.splits.train))))
    ds = ctx.domain.make_dataset(examples.items, None, ctx.contract,
                                 PipelineOptions(batch_size=ctx.feature_batch_size))
    return extract_features(ctx.backbone, ds, len(examples), desc="standardisation features")


def _frozen_model(ctx: PhaseContext, head):
    return keras.Model(ctx.backbone.inputs, head(ctx.backbone.outputs[0]))


def _feature_ds(features, targets, batch_size: int, shuffle: bool = False, seed: int = 0):
    ds = tf.data.Dataset.from_tensor_slices((np.asarray(features), targets))
    if shuffle:
        ds = ds.shuffle(len(targets), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def fine_tune(ctx: PhaseContext, model) -> None:
    """Phase 2: unfreeze the top of the backbone; backbone LR = head LR × multiplier."""
    t = ctx.config.train
    names = unfreeze(ctx.backbone, top=t.unfreeze_top, from_layer=t.unfreeze_from)
    _log(f"phase 2: fine-tuning {len(names)} backbone blocks "
         f"({count_trainable(ctx.backbone):,} backbone weights trainable), "
         f"head lr {t.fine_tune_learning_rate:g}, backbone lr "
         f"{t.fine_tune_learning_rate * t.backbone_lr_multiplier:g}")
    loss, metrics = loss_and_metrics(ctx.codec.task)
    model.compile(optimizer=make_optimizer(t.fine_tune_learning_rate), loss=loss, metrics=metrics)
    if t.backbone_lr_multiplier != 1.0:
        model.set_backbone_optimizer(
            make_optimizer(t.fine_tune_learning_rate * t.backbone_lr_multiplier),
            ctx.backbone.trainable_variables)
    done, initial = _resume_point(ctx, "phase2", model)
    if done:
        return
    val = ctx.dataset("validation")
    before = model.evaluate(val, verbose=0, return_dict=True)["loss"]
    with all_trainable(model):  # the weight order must not depend on what is frozen
        snapshot = model.get_weights()
    model.fit(ctx.dataset("train", training=True), validation_data=val,
              epochs=t.fine_tune_epochs, initial_epoch=initial, class_weight=_class_weight(ctx),
              callbacks=_callbacks(ctx, "phase2"), verbose=ctx.verbose)
    after = model.evaluate(val, verbose=0, return_dict=True)["loss"]
    if after > before:
        _log(f"phase 2 did not improve the validation loss ({after:.4f} against "
             f"{before:.4f} before it): keeping the phase-1 weights")
        with all_trainable(model):
            model.set_weights(snapshot)
    _mark_done(ctx, "phase2", model)
