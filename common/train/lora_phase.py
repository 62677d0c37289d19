"""Phase 2 with ``fine_tune_method="lora"``: low-rank adapters train, the encoder stays frozen.

The domain's ``lora_targets`` hook names the Dense layers to adapt (text: the attention
projections of every transformer block). Each gets a :class:`~transferkit.common.model.lora.
LoRADense`; the adapters and the head train at ``fine_tune_learning_rate`` (no backbone
multiplier: the adapters are new weights, not pretrained ones). At the end the adapters are
written to ``lora_adapters.npz``, merged into the kernels, and the plain layers put back, so
the model the trainer evaluates and exports is the ordinary architecture. ``lora.json``
records the rank, the adapted layers and the trainable fraction.

Resume: a finished phase reloads its merged weights; an interrupted one rebuilds the same
adapters (same seed) and restores their weights and the optimizer from the epoch checkpoint.
"""
from __future__ import annotations

import json

import numpy as np

from transferkit.common.io import atomic_path, atomic_write_text
from transferkit.common.keras import keras
from transferkit.common.model import lora
from transferkit.common.model.freezing import all_trainable, freeze
from transferkit.common.train import callbacks as cb
from transferkit.common.train.phases import (PhaseContext, _callbacks, _class_weight, _compile,
                                             _log, _mark_done, _resume_point)

ADAPTERS = "lora_adapters.npz"
REPORT = "lora.json"


def fine_tune_lora(ctx: PhaseContext, model) -> None:
    """Phase 2: train LoRA adapters (and the head), then merge them into the backbone.

    Raises:
        ValueError: when the domain has no ``lora_targets`` hook or the backbone none of
            the layers it names.
    """
    t = ctx.config.train
    if ctx.resume and cb.read_state(ctx.ckpt).get("phase2", {}).get("done"):
        with all_trainable(model):  # the merged weights, saved in the canonical order
            _resume_point(ctx, "phase2", model)
        return
    targets = lora_targets(ctx.domain, ctx.backbone, t)
    adapters = [lora.attach(parent, attr, t.lora_rank, t.lora_alpha, seed=t.seed * 1009 + i)
                for i, (parent, attr) in enumerate(targets)]
    lora.train_only(ctx.backbone.model, adapters)
    summary = _summary(ctx, adapters)
    _log(f"phase 2 (LoRA): rank {t.lora_rank}, alpha {t.lora_alpha:g} on "
         f"{len(adapters)} projections ({t.lora_targets}): {summary['adapter_params']:,} "
         f"adapter weights, {summary['fraction']:.2%} of the backbone's "
         f"{summary['backbone_params']:,}; lr {t.fine_tune_learning_rate:g}")
    _compile(ctx, model, t.fine_tune_learning_rate)
    _, initial = _resume_point(ctx, "phase2", model)
    _fit(ctx, model, initial)
    _finish(ctx, model, targets, adapters, summary)


def lora_targets(domain, backbone, train) -> list:
    """``(parent, attribute)`` of each layer to adapt, from the domain's hook."""
    if domain.lora_targets is None:
        raise ValueError(f"train.fine_tune_method='lora': the {domain.name!r} domain "
                         f"names no layers to adapt; use fine_tune_method='full'")
    names = tuple(n.strip() for n in train.lora_targets.split(","))
    return domain.lora_targets(backbone, names)


def _fit(ctx: PhaseContext, model, initial: int) -> None:
    """The epochs from ``initial``, then the epoch of lowest validation loss; the phase-1
    state back when none beat it (adapters at zero)."""
    t = ctx.config.train
    val = ctx.dataset("validation")
    trained = model.trainable_variables  # the adapters and the head, nothing else
    snapshot = [v.numpy() for v in trained]
    before = model.evaluate(val, verbose=0, return_dict=True)["loss"] if not initial else None
    calls = _callbacks(ctx, "phase2")
    best = next(c for c in calls if isinstance(c, cb.AtomicBestCheckpoint))
    history = model.fit(ctx.dataset("train", training=True), validation_data=val,
                        epochs=t.fine_tune_epochs, initial_epoch=initial,
                        class_weight=_class_weight(ctx), callbacks=calls, verbose=ctx.verbose)
    if before is not None and not best.best < before:
        _log(f"phase 2 did not improve the validation loss ({best.best:.4f} at best against "
             f"{before:.4f} before it): keeping the phase-1 weights (adapters at zero)")
        for var, value in zip(trained, snapshot):
            var.assign(value)
    elif history.epoch and best.best_epoch not in (-1, history.epoch[-1]):
        _log(f"phase 2: keeping epoch {best.best_epoch + 1} (lowest validation loss "
             f"{best.best:.4f})")
        model.load_weights(str(best.path))  # saved in this same adapted, frozen state


def _summary(ctx: PhaseContext, adapters) -> dict:
    t, backbone = ctx.config.train, ctx.backbone.model
    base = sum(keras.backend.count_params(w) for w in backbone.weights
               if not any(w is a.lora_a or w is a.lora_b for a in adapters))
    n = lora.count(adapters)
    return {"rank": t.lora_rank, "alpha": t.lora_alpha, "targets": t.lora_targets,
            "layers": [_key(a) for a in adapters], "adapter_params": n,
            "backbone_params": int(base), "fraction": n / max(int(base), 1)}


def _key(adapter) -> str:
    """The adapted kernel's path without the model's own (numbered) name."""
    return adapter.base.kernel.name.split("/", 1)[-1].rsplit("/", 1)[0]


def _finish(ctx: PhaseContext, model, targets, adapters, summary: dict) -> None:
    """Save the adapters, merge them, restore the phase-1 freezing and mark phase 2 done."""
    arrays = {}
    for a in adapters:
        arrays[f"{_key(a)}/lora_a"] = a.lora_a.numpy()
        arrays[f"{_key(a)}/lora_b"] = a.lora_b.numpy()
    with atomic_path(ctx.run_dir / ADAPTERS) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    deltas = [lora.merge(parent, attr) for parent, attr in targets]
    summary = {**summary, "merged_delta_norm": float(np.sqrt(sum(np.sum(d ** 2) for d in deltas))),
               "adapters_file": ADAPTERS}
    atomic_write_text(ctx.run_dir / REPORT, json.dumps(summary, indent=2) + "\n")
    freeze(ctx.backbone)  # as after phase 1: the plain layers back, all frozen
    _compile(ctx, model, ctx.config.train.fine_tune_learning_rate)  # drop the traced adapters
    with all_trainable(model):
        _mark_done(ctx, "phase2", model)


def attach_saved(domain, backbone, train, path) -> list:
    """Adapters of a run's ``lora_adapters.npz`` on a freshly built ``backbone`` (the base
    weights the run started phase 2 from): the un-merged model, e.g. to check a merge.

    Example:
        >>> adapters = attach_saved(get_domain("text"), create_backbone("minilm_l6"),
        ...                         run.config.train, run.run_dir / ADAPTERS)  # doctest: +SKIP
    """
    adapters = [lora.attach(parent, attr, train.lora_rank, train.lora_alpha)
                for parent, attr in lora_targets(domain, backbone, train)]
    with np.load(path) as saved:
        for a in adapters:
            a.lora_a.assign(saved[f"{_key(a)}/lora_a"])
            a.lora_b.assign(saved[f"{_key(a)}/lora_b"])
    return adapters
