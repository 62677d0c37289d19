"""The report's figures, each drawn from plain arrays into a PNG written atomically.

Figures are built with :class:`matplotlib.figure.Figure`, never through ``pyplot``: no GUI
backend and no global figure list, so a report written at the end of training in a
notebook or a worker thread leaks nothing and needs no display (the PNG canvas is Agg's).

Example:
    >>> true, pred = np.array([1.0, 2.0]), np.array([1.1, 1.9])
    >>> plot_regression(true, pred, Path("s.png"), "test")  # doctest: +SKIP
    PosixPath('s.png')
"""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from transferkit.common.io import atomic_path

MAX_TICK_CLASSES = 30  # more class names than this overlap on a readable confusion matrix
_LOSS_WORDS = ("loss", "mse", "mae", "error", "entropy")
_HYPERPARAMETERS = {"C", "alpha", "lr", "learning_rate"}  # candidates, not scores


def save_figure(fig: Figure, path: Path) -> Path:
    """Write ``fig`` as a PNG to ``path`` through a temporary sibling (atomic)."""
    with atomic_path(Path(path), suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
    return Path(path)


def numeric_columns(rows) -> dict[str, np.ndarray]:
    """The numeric columns of ``history.csv`` rows (``phase``/``epoch`` aside); blanks are NaN.

    Example:
        >>> numeric_columns([{"phase": "phase1", "epoch": "0", "loss": "0.5", "l2": ""}])
        {'loss': array([0.5])}
    """
    columns = {}
    for name in (rows[0].keys() if rows else ()):
        if name in ("phase", "epoch"):
            continue
        try:
            values = np.array([float(r.get(name) or "nan") for r in rows])
        except (TypeError, ValueError):
            continue  # a text column: nothing to plot
        if np.isfinite(values).any():
            columns[name] = values
    return columns


def _panels(columns: dict) -> list[tuple[str, dict]]:
    loss = {k: v for k, v in columns.items() if any(w in k.lower() for w in _LOSS_WORDS)}
    rest = {k: v for k, v in columns.items() if k not in loss}
    # Scores live in [0, 1]; anything else (an L2 strength, a C) would flatten them.
    scores = {k: v for k, v in rest.items() if k not in _HYPERPARAMETERS
              and np.nanmin(v) >= -1.0 and np.nanmax(v) <= 1.0}
    other = {k: v for k, v in rest.items() if k not in scores}
    return [(t, c) for t, c in (("loss", loss), ("metrics", scores), ("other columns", other)) if c]


def plot_curves(rows, path: Path) -> Path:
    """Loss on one panel, [0, 1] metrics on another, anything else on a third; per CSV row.

    A dashed line marks the first ``phase2`` row.

    Example:
        >>> rows = [{"phase": "phase1", "epoch": "0", "loss": "1"}]
        >>> plot_curves(rows, Path("c.png"))  # doctest: +SKIP
        PosixPath('c.png')
    """
    panels = _panels(numeric_columns(rows))
    if not panels:
        raise ValueError("history.csv has no numeric columns")
    phase2 = [i for i, r in enumerate(rows) if r.get("phase") == "phase2"]
    fig = Figure(figsize=(9, 2.8 * len(panels) + 0.4), layout="constrained")
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (title, columns) in zip(axes, panels):
        for name, values in columns.items():
            ax.plot(np.arange(len(values)), values, marker="o", markersize=3, label=name)
        if title == "other columns" and all(np.nanmin(v) > 0 for v in columns.values()):
            ax.set_yscale("log")
        if phase2:
            ax.axvline(phase2[0] - 0.5, color="grey", linestyle="--", label="phase 2 starts")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    # Rows, not epochs: phase 1 may be regularisation candidates, phase 2 restarts at 0.
    axes[-1].set_xlim(-0.5, len(rows) - 0.5)
    axes[-1].xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[-1].set_xlabel("history.csv row")
    return save_figure(fig, path)


def plot_confusion(matrix: np.ndarray, labels, path: Path, split: str) -> Path:
    """The row-normalised confusion matrix; class names on both axes up to 30 classes.

    Example:
        >>> plot_confusion(np.eye(2), ["a", "b"], Path("cm.png"), "test")  # doctest: +SKIP
    """
    matrix = np.asarray(matrix, dtype=float)
    n = len(matrix)
    rows = matrix.sum(axis=1, keepdims=True)
    normalised = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
    side = float(np.clip(0.28 * n + 3.5, 5.0, 11.5))  # the page is ~1100 px wide
    fig = Figure(figsize=(side + 1.0, side), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(normalised, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, shrink=0.8, label="fraction of the true class")
    if n <= MAX_TICK_CLASSES:
        names = [_short(str(name), 22) for name in labels]
        size = 9 if n <= 15 else 8
        ax.set_xticks(range(n), names, rotation=45 if n <= 8 else 90, ha="right"
                      if n <= 8 else "center", fontsize=size)
        ax.set_yticks(range(n), names, fontsize=size)
    else:
        ax.set_xticks([])
        ax.set_yticks([])
    if n <= 15:
        for (i, j), value in np.ndenumerate(normalised):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8,
                    color="white" if value > 0.6 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"confusion matrix ({split}, rows sum to 1)")
    return save_figure(fig, path)


def plot_reliability(curves: list[tuple[str, dict]], path: Path, split: str) -> Path:
    """Reliability diagram: per confidence bin, accuracy against mean confidence; below it,
    how many examples each bin holds.

    Args:
        curves: ``(legend label, reliability_bins(...) result)`` pairs, drawn on one axes.
        path: Where the PNG goes.
        split: The split's name, for the title.
    """
    fig = Figure(figsize=(6.5, 6.5), layout="constrained")
    ax, counts = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect calibration")
    for index, ((label, bins), marker) in enumerate(zip(curves, ("o", "s", "^"))):
        filled = np.asarray(bins["count"]) > 0
        line, = ax.plot(np.asarray(bins["confidence"])[filled],
                        np.asarray(bins["accuracy"])[filled], marker=marker, label=label)
        # Bins holding one or two examples zigzag; the counts say which points to trust.
        edges = np.asarray(bins.get("edges", np.linspace(0, 1, len(bins["count"]) + 1)))
        width = np.diff(edges) / (len(curves) + 1)
        counts.bar(edges[:-1] + width * (index + 0.5), bins["count"], width=width,
                   align="edge", color=line.get_color(), alpha=0.8)
    ax.set_xlim(-0.02, 1.02)  # a margin, so markers at 0 and 1 are not cut in half
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("accuracy")
    ax.set_title(f"reliability ({split})")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=9)
    counts.set_xlabel("confidence (top-1 probability)")
    counts.set_ylabel("examples")
    counts.grid(alpha=0.3)
    return save_figure(fig, path)


def plot_feature_map(points: np.ndarray, colour, names, path: Path, title: str) -> Path:
    """A 2-D scatter of ``points``; ``colour`` is class ids (``names`` in the legend, -1 for
    none) or, when ``names`` is empty, a continuous value with a colour bar."""
    fig = Figure(figsize=(8.5, 6), layout="constrained")
    ax = fig.subplots()
    colour = np.asarray(colour)
    if not names:
        dots = ax.scatter(points[:, 0], points[:, 1], c=colour, cmap="viridis", s=12)
        fig.colorbar(dots, ax=ax, label="target")
    else:
        palette = _palette(len(names))
        for index, name in [(-1, "(no label)")] + list(enumerate(names)):
            chosen = colour == index
            if chosen.any():
                ax.scatter(points[chosen, 0], points[chosen, 1], s=12, label=_short(name, 24),
                           color="lightgrey" if index < 0 else palette[index])
        ax.legend(fontsize=8 if len(names) <= 15 else 6, markerscale=1.5, loc="upper left",
                  bbox_to_anchor=(1.01, 1.0), ncol=max(1, math.ceil(len(names) / 25)))
    ax.set_xlabel("component 1")
    ax.set_ylabel("component 2")
    ax.set_title(title)
    return save_figure(fig, path)


def plot_regression(true: np.ndarray, pred: np.ndarray, path: Path, split: str) -> Path:
    """Predicted against true values, with the diagonal."""
    true, pred = np.ravel(true).astype(float), np.ravel(pred).astype(float)
    fig = Figure(figsize=(6, 5.5), layout="constrained")
    ax = fig.subplots()
    ax.scatter(true, pred, s=12, alpha=0.7)
    low, high = float(min(true.min(), pred.min())), float(max(true.max(), pred.max()))
    ax.plot([low, high], [low, high], color="grey", linestyle="--", label="predicted = true")
    ax.set_xlabel("true")
    ax.set_ylabel("predicted")
    ax.set_title(f"predicted vs true ({split})")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    return save_figure(fig, path)


def _palette(n: int) -> list:
    name = "tab10" if n <= 10 else "tab20"
    if n <= 20:
        return [matplotlib.colormaps[name](i) for i in range(n)]
    return [matplotlib.colormaps["turbo"](i / max(1, n - 1)) for i in range(n)]


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
