"""Evaluation: accuracy, per-class precision/recall/F1 and the confusion matrix."""
from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

from transferkit.common.data.labels import LabelCodec


def evaluate_predictions(codec: LabelCodec, targets: np.ndarray, outputs: np.ndarray) -> dict:
    """Metrics for one split, as plain JSON-able values.

    Example:
        >>> codec = LabelCodec("multiclass", ("a", "b"))
        >>> evaluate_predictions(codec, np.array([0, 1]), np.array([[.9, .1], [.2, .8]]))["accuracy"]
        1.0
    """
    if codec.task == "regression":
        pred = np.reshape(outputs, (-1,))
        return {"n": int(len(targets)), "mse": float(skm.mean_squared_error(targets, pred)),
                "mae": float(skm.mean_absolute_error(targets, pred)),
                "r2": float(skm.r2_score(targets, pred)) if len(targets) > 1 else None}
    if codec.task == "multilabel":
        return _multilabel(codec, targets, outputs, 0.5)
    pred = np.argmax(outputs, axis=-1)
    labels = list(range(codec.num_outputs))
    return {"n": int(len(targets)),
            "accuracy": float(skm.accuracy_score(targets, pred)),
            "macro_f1": float(skm.f1_score(targets, pred, labels=labels, average="macro",
                                           zero_division=0)),
            "majority_baseline": float(np.max(np.bincount(targets, minlength=len(labels)))
                                       / max(1, len(targets))),
            "per_class": _per_class(codec, targets, pred),
            "confusion_matrix": skm.confusion_matrix(targets, pred, labels=labels).tolist(),
            "labels": list(codec.names)}


def _multilabel(codec: LabelCodec, targets, outputs, thresholds) -> dict:
    pred = (outputs >= np.asarray(thresholds)).astype(int)
    return {"n": int(len(targets)),
            "subset_accuracy": float(skm.accuracy_score(targets, pred)),
            "micro_f1": float(skm.f1_score(targets, pred, average="micro", zero_division=0)),
            "macro_f1": float(skm.f1_score(targets, pred, average="macro", zero_division=0)),
            "per_label": _per_class(codec, targets, pred, multilabel=True)}


def at_thresholds(codec: LabelCodec, targets: np.ndarray, outputs: np.ndarray,
                  thresholds: dict) -> dict:
    """Multi-label metrics with per-label ``thresholds`` (name -> threshold) instead of 0.5."""
    return _multilabel(codec, targets, outputs, [thresholds[n] for n in codec.names])


def _per_class(codec: LabelCodec, targets, pred, multilabel: bool = False) -> dict:
    kwargs = {} if multilabel else {"labels": list(range(codec.num_outputs))}
    p, r, f, s = skm.precision_recall_fscore_support(targets, pred, zero_division=0, **kwargs)
    return {name: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                   "support": int(s[i])} for i, name in enumerate(codec.names)}


def headline(metrics: dict) -> str:
    """One line for the console: the figure that matters for the task."""
    keys = [k for k in ("accuracy", "macro_f1", "subset_accuracy", "micro_f1", "mae", "r2")
            if metrics.get(k) is not None]
    return ", ".join(f"{k}={metrics[k]:.4f}" for k in keys)
