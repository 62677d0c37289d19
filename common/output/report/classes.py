"""Report sections about classes: confusion matrix, per-class table, calibration, thresholds.

Each section takes the run and the directory its PNGs go to, and returns HTML; when its
inputs are missing it returns the one line that says which.

Example:
    >>> html = confusion_section(read_run("runs/flowers"), Path("runs/flowers"))  # doctest: +SKIP
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.metrics import confusion_matrix

from transferkit.common.output.calibration import (BINS, apply_temperature,
                                                   expected_calibration_error, reliability_bins)
from transferkit.common.output.report import markup
from transferkit.common.output.report.inputs import RunInputs
from transferkit.common.output.report.plots import (MAX_TICK_CLASSES, plot_confusion,
                                                    plot_reliability)

TOP_CONFUSIONS = 5


def predictions_missing(run: RunInputs) -> str:
    """Why there are no predictions to draw from."""
    return run.missing.get("predictions.npz",
                           "predictions.npz has no test or validation outputs")


def _confusion(run: RunInputs) -> tuple[str, np.ndarray, list[str]] | None:
    split, found = run.split_metrics()
    names = list(found.get("labels") or run.labels)
    if found.get("confusion_matrix"):
        return split, np.asarray(found["confusion_matrix"], dtype=int), names
    preds = run.split_predictions()
    if preds is None:
        return None
    k = preds.outputs.shape[1]
    names = list(run.labels) if len(run.labels) == k else [str(i) for i in range(k)]
    matrix = confusion_matrix(preds.targets.astype(int), preds.outputs.argmax(axis=1),
                              labels=list(range(k)))
    return preds.name, matrix, names


def most_confused(matrix: np.ndarray, names, k: int = TOP_CONFUSIONS) -> list[tuple]:
    """The ``k`` largest off-diagonal cells: ``(true, predicted, count)``, largest first.

    Example:
        >>> most_confused(np.array([[5, 2], [0, 3]]), ["a", "b"])
        [('a', 'b', 2)]
    """
    off = np.array(matrix, dtype=int)
    np.fill_diagonal(off, 0)
    order = np.argsort(-off, axis=None, kind="stable")[:k]
    cells = [np.unravel_index(i, off.shape) for i in order]
    return [(str(names[i]), str(names[j]), int(off[i, j])) for i, j in cells if off[i, j] > 0]


def confusion_section(run: RunInputs, out: Path) -> str:
    """``confusion_matrix.png`` and the most-confused (true → predicted) pairs."""
    found = _confusion(run)
    if found is None:
        return markup.missing("no confusion matrix: metrics.json has none and "
                              + predictions_missing(run))
    split, matrix, names = found
    html = markup.image(plot_confusion(matrix, names, out / "confusion_matrix.png", split),
                        "confusion matrix")
    if len(names) > MAX_TICK_CLASSES:
        html += markup.note(f"{len(names)} classes: class names are left off the axes "
                            f"(over {MAX_TICK_CLASSES} would overlap); see the table below.")
    pairs = most_confused(matrix, names)
    support = dict(zip(map(str, names), matrix.sum(axis=1)))
    rows = [[true, pred, count, f"{count / max(1, support[true]):.1%}"]
            for true, pred, count in pairs]
    html += "<h3>Most confused (true → predicted)</h3>"
    html += (markup.table(["true", "predicted", "count", "of the true class"], rows,
                          numeric_from=2) if rows else markup.note("no confusions: all correct"))
    return html


def per_class_section(run: RunInputs, out: Path) -> str:
    """Precision, recall, F1 and support per class (``per_class``) or label (``per_label``)."""
    split, found = run.split_metrics()
    per = found.get("per_class") or found.get("per_label")
    if not per:
        return markup.missing(run.missing.get("metrics.json", "")
                              or f"metrics.json ({split or 'no split'}) has no per_class table")
    rows = [[name, markup.fmt(v.get("precision"), 3), markup.fmt(v.get("recall"), 3),
             markup.fmt(v.get("f1"), 3), markup.fmt(v.get("support"))]
            for name, v in per.items()]
    first = "class" if found.get("per_class") else "label"
    return (markup.note(f"{split} split") +
            markup.table([first, "precision", "recall", "F1", "support"], rows))


def calibration_section(run: RunInputs, out: Path) -> str:
    """ECE before and after temperature scaling, the temperature, and ``reliability.png``."""
    cal = run.calibration
    if cal:
        rows = [[split, markup.fmt(cal.get(f"{prefix}ece_before")),
                 markup.fmt(cal.get(f"{prefix}ece_after"))]
                for split, prefix in ((cal.get("split", "validation"), ""), ("test", "test_"))
                if f"{prefix}ece_before" in cal]
        html = (f"<p>Temperature <b>T = {markup.esc(markup.fmt(cal.get('temperature')))}</b>, "
                f"fitted on the {markup.esc(cal.get('split', 'validation'))} split; "
                f"ECE over {markup.esc(cal.get('bins', BINS))} bins.</p>"
                + markup.table(["split", "ECE before", "ECE after"], rows))
    else:
        html = markup.missing(run.missing.get("calibration.json", "calibration.json is empty"))
    preds = run.split_predictions()
    if preds is None:
        return html + markup.missing("no reliability diagram: " + predictions_missing(run))
    return html + markup.image(_reliability(preds, cal, out), "reliability diagram")


def _reliability(preds, cal: dict, out: Path) -> Path:
    bins = int(cal.get("bins", BINS))
    targets = preds.targets.astype(int)
    curves = [(f"before (ECE {expected_calibration_error(preds.outputs, targets, bins):.3f})",
               reliability_bins(preds.outputs, targets, bins))]
    if cal.get("temperature"):
        scaled = apply_temperature(preds.outputs, float(cal["temperature"]))
        curves.append((f"after T = {float(cal['temperature']):.3g} "
                       f"(ECE {expected_calibration_error(scaled, targets, bins):.3f})",
                       reliability_bins(scaled, targets, bins)))
    return plot_reliability(curves, out / "reliability.png", preds.name)


def thresholds_section(run: RunInputs, out: Path) -> str:
    """The per-label decision thresholds chosen on validation (multilabel)."""
    thresholds = run.calibration.get("thresholds")
    if not thresholds:
        return markup.missing(run.missing.get("calibration.json",
                                              "calibration.json has no thresholds"))
    rows = [[name, markup.fmt(float(t), 3)] for name, t in thresholds.items()]
    return markup.table(["label", "threshold"], rows)


def label_thresholds(run: RunInputs) -> np.ndarray | None:
    """The thresholds of ``calibration.json`` in label order (0.5 where one is missing)."""
    thresholds = run.calibration.get("thresholds")
    if not thresholds or not run.labels:
        return None
    return np.array([float(thresholds.get(name, 0.5)) for name in run.labels])
