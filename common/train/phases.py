"""The two training phases, each a plain function over a :class:`PhaseContext`."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from transferkit.common.train import callbacks as cb
from transferkit.common.model.registry import Backbone
from transferkit.common.config import RunConfig
from transferkit.common.data.domain import Domain
from transferkit.common.train.distribute import is_multiworker, worker_files
from transferkit.common.train.features import (choose_mode, extract_features, fingerprint,
                                              save_features)
from transferkit.common.model.freezing import freeze
from transferkit.common.model.heads import adapt_head, loss_and_metrics
from transferkit.common.keras import keras, tf
from transferkit.common.data.labels import LabelCodec
from transferkit.common.train.optim import make_optimizer
from transferkit.common.data.pipeline import build_pipeline, inference_batch_size
from transferkit.common.data.splits import Splits


@dataclass(frozen=True)
class PhaseContext:
    """Everything a phase reads: the run's config, data, label codec and backbone."""

    config: RunConfig
    run_dir: Path
    domain: Domain
    codec: LabelCodec
    splits: Splits
    backbone: Backbone
    verbose: int = 2
    resume: bool = False
    strategy: object = None  # the tf.distribute strategy the run trains under

    @property
    def contract(self):
        return self.backbone.contract

    @property
    def ckpt(self) -> Path:
        return self.run_dir / "checkpoints"

    def dataset(self, split: str, training: bool = False, augment: bool | None = None):
        """The labelled pipeline of ``split`` at the training batch size (global: the
        strategy splits it), augmented when ``augment`` (default ``train.augment``).
        Multi-worker training on files gives each worker every N-th training file, so no
        worker reads the others' files."""
        examples, t = getattr(self.splits, split), self.config.train
        by_files = (training and self.domain.file_items and self.strategy is not None
                    and is_multiworker(self.strategy))
        if by_files:
            share = worker_files(len(examples), self.strategy)
            _log(f"multi-worker: this worker reads {len(share)} of the {len(examples)} "
                 f"{split} files (one in {share.step}, from number {share.start})")
            examples = examples.subset(share)
        return build_pipeline(self.domain, self.contract, examples.items,
                              self.codec.encode(examples.labels), batch_size=t.batch_size,
                              training=training, seed=t.seed, sharded=by_files,
                              augment=t.augment if augment is None else augment)

    def inputs(self, items):
        """Unlabelled model inputs of ``items``, at the feature-extraction batch size."""
        return build_pipeline(self.domain, self.contract, items,
                              batch_size=inference_batch_size(self.config.train.batch_size))

    def uses_cache(self) -> bool:
        """Phase 1 trains on cached features (not with augmentation, which needs pixels)."""
        t = self.config.train
        return t.embedding_cache != "off" and not t.augment


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


def _resume_point(ctx: PhaseContext, phase: str, target, trained=None) -> tuple[bool, int]:
    """(phase already done, initial epoch), loading saved weights into ``target`` and the
    optimizer state into ``trained`` (the model ``fit`` runs; default ``target``)."""
    if not ctx.resume:
        return False, 0
    state = cb.read_state(ctx.ckpt).get(phase, {})
    if state.get("done"):
        target.load_weights(str(ctx.ckpt / f"{phase}_final_weights.h5"))
        _log(f"resume: {phase} already done, loaded its weights")
        return True, 0
    epoch = cb.restore_training(ctx.ckpt, phase, target, trained or target)
    if epoch is not None:  # weights, optimizer state and epoch saved as one
        _log(f"resume: {phase} from epoch {epoch} (weights and optimizer state)")
        return False, epoch
    epoch = int(state.get("epoch", 0))
    if epoch:
        target.load_weights(str(ctx.ckpt / f"{phase}_last_weights.h5"))
        _log(f"resume: {phase} from epoch {epoch} (no optimizer state saved: it restarts)")
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
    t, model = ctx.config.train, ctx.backbone.model
    mode = choose_mode(t.embedding_cache, len(ctx.splits.train), ctx.backbone.output_shape)
    weights_key = fingerprint([float(np.sum(w)) for w in model.get_weights()[:8]])
    out = {}
    for split in ("train", "validation", "test"):
        examples = getattr(ctx.splits, split)
        if examples is None or len(examples) == 0:
            continue
        order = (ctx.domain.extraction_order(examples.items, ctx.contract)
                 if ctx.domain.extraction_order else None)
        items = examples.items if order is None else [examples.items[i] for i in order]
        key = fingerprint(ctx.config.backbone, weights_key, examples.items, ctx.contract)
        path = ctx.run_dir / "features" / f"{split}.npy"
        if ctx.strategy is not None and is_multiworker(ctx.strategy):
            out[split] = _sharded_features(ctx, examples, mode, path, key, split)
            continue
        out[split] = extract_features(
            model, ctx.inputs(items), len(examples), mode=mode, order=order,
            path=path, key=key, desc=f"{split} features")
    return out


def _sharded_features(ctx: PhaseContext, examples, mode: str, path: Path, key: str, split):
    """Multi-worker: this worker embeds its shard, the shards are all-gathered, and the
    merged features are kept (memory) or written under this worker's run folder (disk)."""
    from transferkit.common.train.distributed_features import all_gather_rows, shard_range

    shard = shard_range(len(examples), ctx.strategy)
    mine = examples.subset(shard)
    feats = extract_features(ctx.backbone.model, ctx.inputs(mine.items), len(mine),
                             desc=f"{split} features (items {shard.start}-{shard.stop})")
    merged = all_gather_rows(ctx.strategy, np.asarray(feats))
    return save_features(path, key, merged) if mode == "disk" else merged


def train_head(ctx: PhaseContext, head, features: dict | None) -> dict | None:
    """Phase 1: the head on a frozen backbone, from cached ``features`` when given.

    Returns:
        What the head fitter chose, for ``metrics.json`` (None when resumed as done).
    """
    t = ctx.config.train
    freeze(ctx.backbone)
    target = head if features is not None else _frozen_model(ctx, head)
    _compile(ctx, target, t.learning_rate)
    adapt_head(head, features["train"] if features is not None else _sample_features(ctx))
    done, initial = _resume_point(ctx, "phase1", target)  # a checkpoint's stats win
    if done or t.epochs <= 0:
        return None
    if features is not None and t.head_fit == "auto":
        return _solve_head(ctx, head, features)
    train, val, steps = _phase1_data(ctx, features, initial)
    target.fit(train, validation_data=val, epochs=t.epochs, initial_epoch=initial,
               steps_per_epoch=steps, class_weight=_class_weight(ctx),
               callbacks=_callbacks(ctx, "phase1", target), verbose=ctx.verbose)
    _mark_done(ctx, "phase1", target)
    return {"solver": "adam", "chosen": {"epochs": t.epochs}, "grid": [], "refit": False,
            "class_weight": t.class_weight}


def _compile(ctx: PhaseContext, model, learning_rate: float) -> None:
    loss, metrics = loss_and_metrics(ctx.codec.task)
    model.compile(optimizer=make_optimizer(learning_rate), loss=loss, metrics=metrics)


def _solve_head(ctx: PhaseContext, head, features: dict) -> dict:
    """The default phase 1: a converged head on the cached features (common.head_fit)."""
    from transferkit.common.train.head_fit import fit_cached_head

    fit = fit_cached_head(ctx, head, features)
    _compile(ctx, head, ctx.config.train.learning_rate)
    _save_weights(head, ctx.ckpt / "phase1_best_weights.h5")  # the chosen one is the best
    _mark_done(ctx, "phase1", head)
    return fit.to_dict()


def _phase1_data(ctx: PhaseContext, features: dict | None, initial: int = 0) -> tuple:
    """``(train, validation_data, steps_per_epoch)`` for the epoch loop from ``initial``:
    feature batches or pipelines."""
    t = ctx.config.train
    if features is None:
        _log("phase 1: head on a frozen backbone (embedding cache off: augmentation on "
             "or embedding_cache=off)")
        return ctx.dataset("train", training=True), ctx.dataset("validation"), None
    _log(f"phase 1: head on cached features ({len(ctx.splits.train)} items), {t.epochs} epochs")
    n = len(ctx.splits.train)
    train = _epoch_batches(features["train"], ctx.codec.encode(ctx.splits.train.labels),
                           t.batch_size, t.seed, range(initial, t.epochs))
    val = _feature_ds(features["validation"],
                      ctx.codec.encode(ctx.splits.validation.labels), 1024)
    return train, val, -(-n // t.batch_size)


def _epoch_batches(features, targets, batch_size: int, seed: int, epochs: range):
    """The batches of ``epochs``, one after the other, each epoch shuffled by (seed, epoch)
    alone: a resumed run sees the order the uninterrupted one saw (a reshuffling dataset
    would start again from the first epoch's order)."""
    base = tf.data.Dataset.from_tensor_slices((np.asarray(features), targets))
    out = base.take(0).batch(batch_size)
    for e in epochs:  # tens of epochs: a short chain of datasets
        out = out.concatenate(base.shuffle(len(targets), seed=e + 1_000_003 * seed,
                                           reshuffle_each_iteration=False).batch(batch_size))
    return out.prefetch(tf.data.AUTOTUNE)


def _class_weight(ctx: PhaseContext) -> dict | None:
    """Keras ``class_weight`` for ``--class-weight balanced`` (multiclass only)."""
    from transferkit.common.data.balance import balanced_weights

    if ctx.config.train.class_weight != "balanced" or ctx.codec.task != "multiclass":
        return None
    return balanced_weights(ctx.codec.encode(ctx.splits.train.labels), ctx.codec.num_outputs)


def _sample_features(ctx: PhaseContext, n: int = 2048):
    """Backbone features of up to ``n`` training items (un-augmented), for standardisation."""
    examples = ctx.splits.train.subset(range(min(n, len(ctx.splits.train))))
    return extract_features(ctx.backbone.model, ctx.inputs(examples.items), len(examples),
                            desc="standardisation features")


def _frozen_model(ctx: PhaseContext, head):
    model = ctx.backbone.model
    return keras.Model(model.inputs, head(model.outputs[0]))


def _feature_ds(features, targets, batch_size: int):
    ds = tf.data.Dataset.from_tensor_slices((np.asarray(features), targets))
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
