"""Phase 1 on cached features: pick the head fitter, run it, log and record what it chose.

Why these defaults (measured on the cached features of each domain's real data, see
``benchmarks/bench_head_quality.py``): a fixed five Adam epochs left the linear head
under-fitted on tweets and over-fitted on Fashion-MNIST, below a scikit-learn logistic
regression on the same features in all three domains. Solving the convex linear head with
its L2 strength chosen on validation matches that baseline by construction; hidden-layer
heads train until validation stops improving, with dropout chosen on validation.
"""
from __future__ import annotations

import sys

import numpy as np

from transferkit.common.train import callbacks as cb
from transferkit.common.data.balance import balanced_weights
from transferkit.common.train.head_solve import HeadFit, solve_linear_head
from transferkit.common.train.head_train import train_hidden_head
from transferkit.common.model.heads import loss_and_metrics
from transferkit.common.train.optim import make_optimizer


def _log(msg: str) -> None:
    print(f"[transferkit] {msg}", file=sys.stderr, flush=True)


def fit_cached_head(ctx, head, cached: dict) -> HeadFit:
    """Fit ``head`` on the cached train features, choosing its regularisation on validation.

    Args:
        ctx: The :class:`~transferkit.common.train.phases.PhaseContext`.
        head: The head model (standardisation already adapted).
        cached: Split name -> features, with ``"train"`` and ``"validation"``.
    """
    t, codec = ctx.config.train, ctx.codec
    if "validation" not in cached:
        raise ValueError("phase 1 needs a validation split to choose the head's "
                         "regularisation: give --validation or a validation_split above 0")
    y_train = codec.encode(ctx.splits.train.labels)
    y_val = codec.encode(ctx.splits.validation.labels)
    weighting = t.class_weight if codec.task == "multiclass" else ""
    if t.class_weight and not weighting:
        _log(f"class_weight={t.class_weight!r} applies to multiclass heads only; ignored")
    if not ctx.config.head.units:
        fit = solve_linear_head(head, codec.task, cached["train"], y_train,
                                cached["validation"], y_val, class_weight=weighting,
                                refit=t.refit)
        # each candidate's row holds validation scores: history names them val_*
        rows = [{(f"val_{k}" if k in ("loss", "accuracy") else k): v for k, v in r.items()}
                for r in fit.grid]
    else:
        loss, metrics = loss_and_metrics(codec.task)
        fit, rows = train_hidden_head(
            head, codec.task, cached["train"], y_train, cached["validation"], y_val,
            loss=loss, metrics=metrics, make_optimizer=lambda: make_optimizer(t.learning_rate),
            batch_size=t.batch_size, max_epochs=max(1, t.epochs),
            dropout=ctx.config.head.dropout, refit=t.refit, seed=t.seed,
            class_weight=balanced_weights(y_train, codec.num_outputs) if weighting else None)
    _write_history(ctx, rows)
    _log(f"phase 1: {_describe(fit)}")
    return fit


def _describe(fit: HeadFit) -> str:
    how = {"lbfgs": "logistic head solved to convergence (L-BFGS)",
           "ridge": "ridge head solved exactly",
           "adam": "hidden-layer head trained until validation stopped improving"}[fit.solver]
    chosen = ", ".join(f"{k}={v:g}" for k, v in fit.chosen.items())
    best = max(fit.grid, key=lambda r: (r.get("accuracy", 0.0), -r["loss"]))
    scores = ", ".join(f"val {k} {v:.4f}" for k, v in best.items() if k in ("accuracy", "loss"))
    extra = "; refitted on train + validation" if fit.refit else ""
    return f"{how}; chose {chosen} on validation ({scores}) from {len(fit.grid)} candidates{extra}"


def _write_history(ctx, rows) -> None:
    """One ``history.csv`` row per candidate (solved heads) or epoch (trained heads)."""
    history = cb.PhaseHistory(ctx.run_dir / "history.csv", "phase1")
    for epoch, row in enumerate(rows):
        history.on_epoch_end(epoch, {k: v for k, v in row.items()
                                     if isinstance(v, (int, float, np.floating))})
