"""The worst examples: those whose true answer got the lowest probability.

Vision runs get a grid of the images; text and speech runs a table of texts or clip names.
An image that is gone or unreadable becomes a grey tile with its name: a report is often
written on another machine than the one the data lives on.

Example:
    >>> worst = worst_examples(split, ("cat", "dog"), "multiclass")  # doctest: +SKIP
    >>> worst[0].true, worst[0].pred, round(worst[0].p, 2)  # doctest: +SKIP
    ('cat', 'dog', 0.03)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from transferkit.common.output.report.inputs import SplitPredictions
from transferkit.common.output.report.markup import esc, table
from transferkit.common.output.report.plots import save_figure

MAX_EXAMPLES = 16
MAX_TEXT = 300


@dataclass(frozen=True)
class Example:
    """One badly predicted example: its item (path or text), true and predicted names, and
    ``p``, the probability the model gave the true answer (multilabel: its worst label's)."""

    item: str
    true: str
    pred: str
    p: float


def worst_examples(split: SplitPredictions, labels, task: str, thresholds=None,
                   k: int = MAX_EXAMPLES) -> list[Example]:
    """Up to ``k`` examples of ``split``, lowest probability of the true answer first.

    Args:
        split: One split's outputs, targets and items.
        labels: Class names, in output order.
        task: ``"multiclass"`` or ``"multilabel"`` (regression has no probability: ``[]``).
        thresholds: Multilabel decision thresholds per label (default 0.5).
        k: How many to return.
    """
    outputs, targets = split.outputs, split.targets
    names = [str(labels[i]) if i < len(labels) else str(i) for i in range(outputs.shape[1])]
    if task == "multiclass":
        true = targets.astype(int)
        p = outputs[np.arange(len(true)), true]
        true_names = [names[t] for t in true]
        pred_names = [names[j] for j in outputs.argmax(axis=1)]
    elif task == "multilabel":
        cut = np.full(outputs.shape[1], 0.5) if thresholds is None else np.asarray(thresholds)
        y = targets.astype(int)
        p = np.where(y == 1, outputs, 1.0 - outputs).min(axis=1)
        true_names = [_names(row == 1, names) for row in y]
        pred_names = [_names(row >= cut, names) for row in outputs]
    else:
        return []
    order = np.argsort(p, kind="stable")[:k]
    return [Example(str(split.items[i]), true_names[i], pred_names[i], float(p[i]))
            for i in order]


def _names(mask, names) -> str:
    chosen = [n for n, on in zip(names, mask) if on]
    return "|".join(chosen) if chosen else "(none)"


def plot_image_grid(examples: list[Example], path: Path, root: Path | None = None) -> Path:
    """A grid of the examples' images titled ``true → pred (p)``; grey tiles for bad files.

    A relative item path is tried as given (from the current directory), then under
    ``root``.
    """
    cols = min(4, len(examples))
    rows = math.ceil(len(examples) / cols)
    fig = Figure(figsize=(3.0 * cols, 3.2 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, example in zip(axes, examples):
        picture = _load_image(example.item, root)
        if picture is None:
            ax.imshow(np.full((96, 96, 3), 0.6), vmin=0, vmax=1)
            ax.text(48, 48, _wrap(Path(example.item).name or example.item), ha="center",
                    va="center", fontsize=7)
        else:
            ax.imshow(picture)
        ax.set_title(f"{_cut(example.true)} → {_cut(example.pred)} ({example.p:.2f})",
                     fontsize=8, color="black" if example.true == example.pred else "firebrick")
    for ax in axes:
        ax.set_axis_off()
    return save_figure(fig, path)


def _load_image(item: str, root: Path | None):
    try:
        from PIL import Image  # only vision runs need PIL (transferkit[vision])
    except ImportError:
        return None

    candidates = [Path(item)] + ([Path(root) / item] if root and not Path(item).is_absolute()
                                 else [])
    for candidate in candidates:
        try:
            with Image.open(candidate) as opened:
                picture = opened.convert("RGB")
            picture.thumbnail((160, 160))
            return np.asarray(picture)
        except (OSError, ValueError, Image.DecompressionBombError):
            continue
    return None


def text_table(examples: list[Example]) -> str:
    """The worst texts, escaped and cut to about 300 characters, with true, predicted, p."""
    rows = [[i + 1, _truncate(e.item, MAX_TEXT), e.true, e.pred, f"{e.p:.3f}"]
            for i, e in enumerate(examples)]
    return table(["#", "text", "true", "predicted", "p(true)"], rows, numeric_from=4)


def clip_table(examples: list[Example]) -> str:
    """The worst clips by file name, with true, predicted, p."""
    rows = [[i + 1, Path(e.item).name or e.item, e.true, e.pred, f"{e.p:.3f}"]
            for i, e in enumerate(examples)]
    return table(["#", "clip", "true", "predicted", "p(true)"], rows, numeric_from=4)


def item_list(examples: list[Example]) -> str:
    """The plain list under an image grid, so file names can be found and copied."""
    return "<ol class=\"items\">" + "".join(
        f"<li>{esc(e.item)} — {esc(e.true)} → {esc(e.pred)} ({e.p:.3f})</li>"
        for e in examples) + "</ol>"


def _truncate(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cut(name: str, limit: int = 14) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _wrap(name: str, width: int = 16) -> str:
    return "\n".join(name[i:i + width] for i in range(0, len(name), width)) + "\n(unreadable)"
