"""The learning-rate finder: an exponential LR sweep over a short run of the head.

fastai's ``lr_find`` (Smith, "Cyclical Learning Rates", 2017): one mini-batch step per
rate, the rate growing exponentially from ``start`` (1e-7) to ``end`` (10) over ``steps``
(100) steps; the loss is smoothed (exponential moving average, debiased) and the sweep
stops once it exceeds 4x its minimum. It runs on the cached backbone features through a
fresh copy of the run's head with Adam (the optimizer phase 1 uses), so it costs seconds
once the features are there; the run's own head is not touched.

The suggestion is **the rate at the smoothed loss's minimum, divided by 10** (fastai's
``lr_min``): the steepest-descent point is also recorded, but it is noisier on the few
hundred steps a head sweep has.

Example:
    >>> found = find_learning_rate(head, features, targets, loss)  # doctest: +SKIP
    >>> found.suggestion  # doctest: +SKIP
    0.0063
"""
from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

START, END, STEPS, DIVERGE, BETA = 1e-7, 10.0, 100, 4.0, 0.98
SKIP_START = 10  # fastai's skip_start: steps left out of the steepest-descent search
JSON_FILE, PLOT_FILE = "lr_find.json", "lr_find.png"


@dataclass(frozen=True)
class LrFind:
    """One sweep: the rates tried, the raw and smoothed losses, and the suggestion."""

    lrs: tuple
    losses: tuple
    smoothed: tuple
    suggestion: float
    min_lr: float
    steepest_lr: float
    stopped_early: bool
    method: str = "min/10"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def schedule(start: float = START, end: float = END, steps: int = STEPS) -> np.ndarray:
    """The exponential sweep: ``steps`` rates from ``start`` to ``end``.

    Example:
        >>> schedule(1e-3, 1e-1, 3).round(4)
        array([0.001, 0.01 , 0.1  ])
    """
    if not (0 < start < end) or steps < 2:
        raise ValueError(f"lr-find: need 0 < start < end and at least 2 steps, got "
                         f"start={start}, end={end}, steps={steps}")
    return start * (end / start) ** (np.arange(steps) / (steps - 1))


def find_learning_rate(head, features, targets, loss, *, batch_size: int = 32,
                       start: float = START, end: float = END, steps: int = STEPS,
                       seed: int = 0) -> LrFind:
    """Sweep ``head`` (trained in place: pass a throwaway copy) over ``features``.

    Args:
        head: A tf_keras model, features -> outputs.
        features: ``[n, dim]`` training features; ``targets`` the encoded labels.
        loss: The run's loss (``loss_and_metrics(task)[0]``).
    """
    from transferkit.common.train.optim import make_optimizer

    rates = schedule(start, end, steps)
    optimizer = make_optimizer(float(rates[0]))
    head.compile(optimizer=optimizer, loss=loss)
    x, y = np.asarray(features, np.float32), np.asarray(targets)
    rng, order, pos = np.random.default_rng(seed), np.arange(len(x)), len(x)
    lrs, losses, smoothed, avg, best = [], [], [], 0.0, np.inf
    for i, lr in enumerate(rates):
        if pos + batch_size > len(x):  # a new shuffled pass
            order, pos = rng.permutation(len(x)), 0
        batch = order[pos:pos + min(batch_size, len(x))]
        pos += len(batch)
        optimizer.learning_rate.assign(float(lr))
        value = float(np.asarray(head.train_on_batch(x[batch], y[batch])).ravel()[0])
        avg = BETA * avg + (1 - BETA) * value
        smooth = avg / (1 - BETA ** (i + 1))
        lrs.append(float(lr))
        losses.append(value)
        smoothed.append(smooth)
        best = min(best, smooth)
        if i > 0 and (not np.isfinite(smooth) or smooth > DIVERGE * best):
            break
    return _suggest(lrs, losses, smoothed, stopped=len(lrs) < len(rates))


def _suggest(lrs, losses, smoothed, stopped: bool) -> LrFind:
    s = np.asarray(smoothed, np.float64)
    s = np.where(np.isfinite(s), s, np.inf)
    low = int(np.argmin(s))
    first = min(SKIP_START, max(low - 2, 0))  # the debiased average is noisy at first
    log_lr = np.log10(np.asarray(lrs))
    if low - first >= 2:
        grad = np.gradient(s[first:low + 1], log_lr[first:low + 1])
        steep = lrs[first + int(np.argmin(grad))]
    else:
        steep = lrs[low] / 10
    return LrFind(lrs=tuple(lrs), losses=tuple(losses), smoothed=tuple(smoothed),
                  suggestion=float(lrs[low] / 10), min_lr=float(lrs[low]),
                  steepest_lr=float(steep), stopped_early=stopped)


def save(found: LrFind, out_dir, what: str = "") -> Path:
    """``lr_find.json`` and ``lr_find.png`` (loss against LR, the suggestion marked)."""
    from transferkit.common.io import atomic_path, atomic_write_text

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / JSON_FILE, json.dumps({"what": what, **found.to_dict()}, indent=1))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(found.lrs, found.losses, color="#bbb", lw=0.8, label="loss")
    ax.plot(found.lrs, found.smoothed, color="#1f77b4", label="smoothed loss")
    ax.axvline(found.suggestion, color="#d62728", ls="--",
               label=f"suggestion {found.suggestion:.2g} (min/10)")
    ax.axvline(found.min_lr, color="#999", ls=":", label=f"minimum {found.min_lr:.2g}")
    ax.set(xscale="log", xlabel="learning rate", ylabel="training loss",
           title=f"learning-rate sweep{': ' + what if what else ''}")
    finite = [v for v in found.smoothed if np.isfinite(v)]
    if finite:
        ax.set_ylim(min(finite) * 0.9, min(max(finite), 4 * min(finite)) * 1.1 + 1e-9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(out / PLOT_FILE, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return out / PLOT_FILE


def sweep_context(ctx, features: dict | None) -> LrFind:
    """The sweep for a run being prepared (:class:`~transferkit.common.train.phases.PhaseContext`):
    a fresh head of the run's shape on its training features (cached, or extracted here
    from up to 2,048 un-augmented training items)."""
    from transferkit.common.model.heads import adapt_head, build_head, loss_and_metrics
    from transferkit.common.train.features import extract_features

    examples = ctx.splits.train
    if features is not None:
        x = np.asarray(features["train"])
    else:
        examples = examples.subset(range(min(2048, len(examples))))
        x = extract_features(ctx.backbone.model, ctx.inputs(examples.items), len(examples),
                             desc="lr-find features")
    head = build_head(ctx.backbone.output_shape, ctx.config.head, ctx.codec.num_outputs)
    adapt_head(head, x)
    t = ctx.config.train
    return find_learning_rate(head, x.reshape(len(x), *ctx.backbone.output_shape),
                              ctx.codec.encode(examples.labels),
                              loss_and_metrics(ctx.codec.task)[0], batch_size=t.batch_size,
                              seed=t.seed)


def resolve_auto(ctx, features: dict | None) -> tuple:
    """``(ctx, record)``: with ``train.learning_rate == "auto"`` the sweep runs, its plot
    and JSON go into the run directory, ``config.json`` gets the chosen rate (so a resume
    trains with it) and ``record`` is ``{"lr_find": {...}}`` for ``metrics.json``; else
    ``(ctx, {})`` unchanged."""
    from transferkit.common.config import save_config

    if ctx.config.train.learning_rate != "auto":
        return ctx, {}
    found = sweep_context(ctx, features)
    save(found, ctx.run_dir, f"{ctx.config.backbone.name} head")
    config = dataclasses.replace(ctx.config, train=dataclasses.replace(
        ctx.config.train, learning_rate=found.suggestion))
    save_config(config, ctx.run_dir / "config.json")
    solved = (features is not None and ctx.config.train.head_fit == "auto"
              and not ctx.config.head.units)
    print(f"[transferkit] lr-find: learning_rate auto -> {found.suggestion:.3g} (loss minimum "
          f"{found.min_lr:.3g} / 10; {PLOT_FILE})"
          + ("; the linear head is solved exactly (L-BFGS), so it only compiles with it"
             if solved else ""), file=sys.stderr, flush=True)
    record = {"learning_rate": found.suggestion, "min_lr": found.min_lr,
              "steepest_lr": found.steepest_lr, "method": found.method,
              "steps": len(found.lrs), "stopped_early": found.stopped_early,
              "applies_to": "train.learning_rate (phase 1 head, Adam)", "plot": PLOT_FILE}
    return dataclasses.replace(ctx, config=config), {"lr_find": record}
