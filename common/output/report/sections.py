"""Report sections for every task: header, curves, feature map, worst examples, regression.

Example:
    >>> html = curves_section(read_run("runs/flowers"), Path("runs/flowers"))  # doctest: +SKIP
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA

from transferkit.common.output.report import markup
from transferkit.common.output.report.classes import label_thresholds, predictions_missing
from transferkit.common.output.report.examples import (clip_table, item_list, plot_image_grid,
                                                       text_table, worst_examples)
from transferkit.common.output.report.inputs import RunInputs
from transferkit.common.output.report.plots import plot_curves, plot_feature_map, plot_regression

# The headline figures, in the order a reader looks for them; absent ones are left out.
HEADLINE = ("n", "accuracy", "macro_f1", "majority_baseline", "subset_accuracy", "micro_f1",
            "mse", "mae", "r2")


def header_section(run: RunInputs, out: Path) -> str:
    """Run name, domain, backbone, weights and task, then the headline metrics per split."""
    backbone = run.config.get("backbone", {})
    facts = [("domain", run.domain or "?"),
             ("backbone", run.metrics.get("backbone") or backbone.get("name", "?")),
             ("weights", _weights(run.metrics.get("weights", backbone.get("weights")))),
             ("task", run.task)]
    if "labels.txt" in run.missing:
        facts.append(("labels", run.missing["labels.txt"]))
    total = (run.metrics.get("timing") or {}).get("total_s")
    if total is not None:
        facts.append(("training time", f"{markup.fmt(total)} s"))
    html = "<dl class=\"facts\">" + "".join(
        f"<dt>{markup.esc(k)}</dt><dd>{markup.esc(v)}</dd>" for k, v in facts) + "</dl>"
    splits = [s for s in ("validation", "test") if isinstance(run.metrics.get(s), dict)]
    if not splits:
        return html + markup.missing(run.missing.get("metrics.json", "metrics.json has no "
                                                     "validation or test split"))
    keys = [k for k in HEADLINE if any(run.metrics[s].get(k) is not None for s in splits)]
    rows = [[s] + [markup.fmt(run.metrics[s].get(k)) for k in keys] for s in splits]
    titles = [k.replace("majority_baseline", "majority-class baseline") for k in keys]
    return html + markup.table(["split"] + titles, rows)


def _weights(weights) -> str:
    return "none (random init)" if weights in (None, "none") else str(weights)


def curves_section(run: RunInputs, out: Path) -> str:
    """``curves.png`` from ``history.csv``."""
    if not run.history:
        return markup.missing(run.missing.get("history.csv", "history.csv has no rows"))
    return markup.image(plot_curves(run.history, out / "curves.png"), "training curves")


def feature_map_section(run: RunInputs, out: Path) -> str:
    """``feature_map.png``: a 2-D PCA map of ``map_features`` coloured by class."""
    if run.map_features is None:
        return markup.missing(run.missing.get("predictions.npz",
                                              "predictions.npz has no map_features"))
    features = np.asarray(run.map_features, dtype=np.float64)
    if features.ndim != 2 or min(features.shape) < 1 or len(features) < 2:
        return markup.missing(f"no feature map: map_features has shape {features.shape}")
    try:
        pca = PCA(n_components=min(2, *features.shape), random_state=0)
        points = pca.fit_transform(features)
    except ValueError as exc:  # NaN or infinite features
        return markup.missing(f"no feature map: PCA failed ({exc})")
    if points.shape[1] == 1:  # one feature: lay the points out on a line
        points = np.column_stack([points[:, 0], np.zeros(len(points))])
    colour, names = _map_colours(run, len(features))
    explained = float(np.sum(pca.explained_variance_ratio_))
    title = (f"PCA of backbone features ({run.map_split or 'split ?'}, {len(features)} "
             f"examples, {explained:.0%} of the variance)")
    return markup.image(plot_feature_map(points, colour, names, out / "feature_map.png", title),
                        "feature map")


def _map_colours(run: RunInputs, n: int) -> tuple[np.ndarray, tuple]:
    targets = run.map_targets
    if targets is None or len(targets) != n:
        return np.zeros(n, dtype=int), ("(no targets saved)",)
    if run.task == "regression":
        return np.asarray(targets, dtype=float).ravel(), ()
    targets = np.asarray(targets).astype(int)
    if targets.ndim == 2:  # multilabel: colour by the first label an example has
        targets = np.where(targets.any(axis=1), targets.argmax(axis=1), -1)
    k = int(targets.max()) + 1 if len(targets) else 0
    names = run.labels if len(run.labels) >= k else tuple(str(i) for i in range(k))
    return targets, tuple(names)


def worst_section(run: RunInputs, out: Path) -> str:
    """The examples whose true class got the lowest probability: images, texts or clips."""
    preds = run.split_predictions()
    if preds is None:
        return markup.missing("no worst examples: " + predictions_missing(run))
    thresholds = label_thresholds(run) if run.task == "multilabel" else None
    if thresholds is not None and len(thresholds) != preds.outputs.shape[1]:
        thresholds = None
    examples = worst_examples(preds, run.labels, run.task, thresholds)
    if not examples:
        return markup.missing(f"the {preds.name} split has no examples")
    what = ("whose true class got the lowest probability" if run.task == "multiclass" else
            "with the lowest probability of the right answer on their worst label")
    html = markup.note(f"The {len(examples)} {preds.name} examples {what}, worst first.")
    if run.domain == "vision":
        grid = plot_image_grid(examples, out / "worst_examples.png", root=run.run_dir)
        return html + markup.image(grid, "worst examples") + item_list(examples)
    if run.domain == "text":
        return html + text_table(examples)
    return html + clip_table(examples)


def regression_section(run: RunInputs, out: Path) -> str:
    """``regression.png``: predicted against true values on the test (else validation) split."""
    preds = run.split_predictions()
    if preds is None:
        return markup.missing("no predicted-vs-true plot: " + predictions_missing(run))
    if len(preds.targets) == 0:
        return markup.missing(f"the {preds.name} split has no examples")
    path = plot_regression(preds.targets, preds.outputs[:, 0], out / "regression.png", preds.name)
    return markup.image(path, "predicted vs true")

