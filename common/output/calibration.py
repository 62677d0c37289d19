"""Calibration: expected calibration error, temperature scaling, multi-label thresholds.

A softmax head solved to convergence is often over- or under-confident. One temperature
``T``, fitted on the validation split by minimising the negative log-likelihood (Guo et al.,
2017), rescales the logits to ``logits / T``; the top-1 class never changes. The head
outputs probabilities, and ``softmax(log p / T) == softmax(logits / T)``, so the
temperature applies to the outputs directly, in numpy here and in the exported models.

Example:
    >>> probs = np.array([[0.99, 0.01], [0.99, 0.01], [0.01, 0.99], [0.99, 0.01]])
    >>> targets = np.array([0, 1, 1, 0])
    >>> t = fit_temperature(probs, targets)
    >>> t > 1.0  # over-confident: the fitted temperature softens the outputs
    True
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.metrics import f1_score

EPS = 1e-7
BINS = 15


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log(p) / T)`` per row.

    Example:
        >>> apply_temperature(np.array([[0.5, 0.5]]), 3.0).tolist()
        [[0.5, 0.5]]
    """
    logits = np.log(np.clip(np.asarray(probs, np.float64), EPS, 1.0)) / float(temperature)
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def _nll(probs: np.ndarray, targets: np.ndarray) -> float:
    picked = probs[np.arange(len(targets)), targets]
    return float(-np.mean(np.log(np.clip(picked, EPS, 1.0))))


def fit_temperature(probs: np.ndarray, targets: np.ndarray) -> float:
    """The temperature in [0.05, 20] that minimises the NLL of ``targets`` (class ids).

    Returns 1.0 when there is nothing to fit: fewer than two examples, or every one already
    right, where the likelihood only grows as ``T`` falls to 0 (a small, separable
    validation split would otherwise make the exported model needlessly over-confident).
    """
    probs, targets = np.asarray(probs), np.asarray(targets, dtype=int)
    if len(targets) < 2 or np.all(probs.argmax(axis=1) == targets):
        return 1.0
    found = minimize_scalar(lambda log_t: _nll(apply_temperature(probs, np.exp(log_t)), targets),
                            bounds=(np.log(0.05), np.log(20.0)), method="bounded",
                            options={"xatol": 1e-4})
    best = float(np.exp(found.x))
    # never worse than leaving the outputs alone
    return best if _nll(apply_temperature(probs, best), targets) <= _nll(probs, targets) else 1.0


def reliability_bins(probs: np.ndarray, targets: np.ndarray, bins: int = BINS) -> dict:
    """Per equal-width confidence bin: mean confidence, accuracy and count (empty bins: NaN).

    Example:
        >>> r = reliability_bins(np.array([[0.9, 0.1]]), np.array([0]), bins=2)
        >>> r["count"].tolist(), float(r["accuracy"][1])
        ([0, 1], 1.0)
    """
    probs, targets = np.asarray(probs), np.asarray(targets, dtype=int)
    confidence = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == targets).astype(float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    count = np.bincount(index, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(index, confidence, minlength=bins) / count
        accuracy = np.bincount(index, correct, minlength=bins) / count
    return {"edges": edges, "confidence": mean_conf, "accuracy": accuracy, "count": count}


def expected_calibration_error(probs: np.ndarray, targets: np.ndarray, bins: int = BINS) -> float:
    """ECE: the count-weighted mean |accuracy - confidence| over confidence bins.

    Example:
        >>> expected_calibration_error(np.array([[0.9, 0.1], [0.9, 0.1]]), np.array([0, 1]))
        0.4
    """
    r = reliability_bins(probs, targets, bins)
    filled = r["count"] > 0
    gaps = np.abs(r["accuracy"][filled] - r["confidence"][filled])
    return float(np.round(np.sum(gaps * r["count"][filled]) / max(1, r["count"].sum()), 6))


def choose_thresholds(probs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per label, the decision threshold that maximises that label's F1 on these examples.

    Candidates are 0.05 .. 0.95; a label with no positive example keeps 0.5.

    Example:
        >>> p = np.array([[0.3], [0.2], [0.1]]); y = np.array([[1], [1], [0]])
        >>> float(choose_thresholds(p, y)[0])
        0.15
    """
    probs, targets = np.asarray(probs), np.asarray(targets, dtype=int)
    grid = np.round(np.arange(0.05, 0.951, 0.05), 2)
    chosen = np.full(probs.shape[1], 0.5)
    for j in range(probs.shape[1]):
        if targets[:, j].sum() == 0:
            continue
        scores = [f1_score(targets[:, j], probs[:, j] >= t, zero_division=0) for t in grid]
        chosen[j] = grid[int(np.argmax(scores))]
    return chosen
