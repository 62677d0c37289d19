"""Class balance of the training labels: counts, a skew warning, balanced class weights."""
from __future__ import annotations

import numpy as np

SKEW_RATIO = 3.0  # largest class / smallest class at or above this is called skewed


def class_balance(names, targets) -> dict:
    """Counts per class, the imbalance ratio and the weights ``--class-weight balanced`` uses.

    Example:
        >>> class_balance(("a", "b"), np.array([0, 0, 0, 1]))["weights"]
        {'a': 0.6667, 'b': 2.0}
    """
    counts = np.bincount(np.asarray(targets, int), minlength=len(names))
    present = counts[counts > 0]
    ratio = float(present.max() / present.min()) if present.size else 1.0
    weights = balanced_weights(targets, len(names))
    return {"counts": {n: int(c) for n, c in zip(names, counts)},
            "imbalance_ratio": round(ratio, 3), "skewed": ratio >= SKEW_RATIO,
            "weights": {n: round(weights.get(i, 0.0), 4) for i, n in enumerate(names)}}


def balanced_weights(targets, n_classes: int) -> dict[int, float]:
    """scikit-learn's ``balanced`` rule: ``n / (n_classes_present * count)`` per class."""
    counts = np.bincount(np.asarray(targets, int), minlength=n_classes)
    present = int((counts > 0).sum())
    return {i: float(len(targets) / (present * c)) for i, c in enumerate(counts) if c > 0}
