"""Likely label issues: out-of-fold probabilities of a linear head, ranked by cleanlab.

A model scored on the examples it was fitted on has memorised their labels, wrong ones
too, so the probabilities that judge a label come from k-fold cross-fitting: every example
is scored by a logistic regression (the head phase 1 solves, on standardised cached
features) that never saw it. cleanlab (confident learning) then decides which labels are
likely wrong and ranks them; it is not re-implemented here.

Example:
    >>> found = label_issues(features, targets, n_classes=10)  # doctest: +SKIP
    >>> found.ranked[:3], found.flagged.sum()  # doctest: +SKIP
    (array([812, 44, 1290]), 97)
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

FOLDS = 5
# Inverse L2 strength on standardised features. Fixed, not searched: a search costs several
# fits per candidate; on Fashion-MNIST/MobileNetV1 0.01 ranked the flips best of 0.01-1
# (benchmarks/inspect_noise.py), and strong regularisation keeps one odd label from
# pulling the boundary its way.
DEFAULT_C = 0.01
MAX_ITER = 500
# L-BFGS stopping tolerance: 1e-3 solves 2.5x faster than sklearn's 1e-4 (6.8 s against
# 16.8 s for 5 folds of 4,000 x 1,024 on 2 cores) and flagged 169 against 170 examples,
# with 168 of the top 200 in common; precision/recall re-measured in docs/inspect.md.
TOL = 1e-3


@dataclass(frozen=True)
class LabelIssues:
    """What the label check found, over the examples in the order given.

    Attributes:
        probabilities: Out-of-fold class probabilities, ``[n, n_classes]``.
        quality: cleanlab's label quality score per example (low: likely wrong).
        flagged: cleanlab's own cut: True where the label is likely wrong.
        ranked: Indices of the flagged examples, most likely wrong first.
        folds: Folds the probabilities came from.
        C: Inverse L2 strength of the logistic regression.
        accuracy: Out-of-fold accuracy against the given labels.
    """

    probabilities: np.ndarray
    quality: np.ndarray
    flagged: np.ndarray
    ranked: np.ndarray
    folds: int
    C: float
    accuracy: float


def out_of_fold_probabilities(features, targets, n_classes: int, *, folds: int = FOLDS,
                              C: float = DEFAULT_C, seed: int = 0) -> np.ndarray:
    """Class probabilities of every example from a model fitted without it (k-fold).

    Args:
        features: ``[n, d]`` cached features.
        targets: ``[n]`` class indices.
        n_classes: Number of classes (columns of the result, absent classes get 0).
        folds: Stratified folds; each class needs at least this many examples.
        C: Inverse L2 strength.
        seed: Seed of the fold assignment.
    """
    from sklearn.model_selection import StratifiedKFold

    x, y = np.asarray(features, dtype=np.float32).reshape(len(targets), -1), np.asarray(targets)
    out = np.zeros((len(y), n_classes))
    for fit_idx, score_idx in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y):
        with warnings.catch_warnings():  # a capped solve still judges labels well
            warnings.simplefilter("ignore")
            model = _logistic(C).fit(x[fit_idx], y[fit_idx])
        out[np.ix_(score_idx, model.classes_)] = model.predict_proba(x[score_idx])
    return out


def _logistic(C: float):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), _regression(C))


def _regression(C: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=MAX_ITER, tol=TOL)


def usable_folds(targets, folds: int = FOLDS) -> int:
    """``folds``, lowered to the smallest class's count; 0 when a class has fewer than 2."""
    counts = np.bincount(np.asarray(targets, int))
    smallest = int(counts[counts > 0].min()) if counts.any() else 0
    return min(folds, smallest) if smallest >= 2 else 0


def label_issues(features, targets, n_classes: int, *, folds: int = FOLDS,
                 C: float = DEFAULT_C, seed: int = 0) -> LabelIssues:
    """Out-of-fold probabilities, then cleanlab's flagged set and ranking.

    Args:
        features: ``[n, d]`` cached features.
        targets: ``[n]`` given class indices.
        n_classes: Number of classes.
        folds: Cross-fitting folds (lowered to the smallest class's count).
        C: Inverse L2 strength of the logistic regression.
        seed: Seed of the folds.

    Raises:
        ValueError: a class has fewer than 2 examples (no fold can leave one out).
    """
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    y = np.asarray(targets, dtype=int)
    k = usable_folds(y, folds)
    if k < 2:
        raise ValueError("label issues need at least 2 examples of every class")
    p = out_of_fold_probabilities(features, y, n_classes, folds=k, C=C, seed=seed)
    p = _normalised(p)
    ranked = find_label_issues(y, p, return_indices_ranked_by="self_confidence", n_jobs=1)
    return _found(p, get_label_quality_scores(y, p), ranked, k, C,
                  accuracy=float((p.argmax(axis=1) == y).mean()))


def _found(p, quality, ranked, folds: int, C: float, accuracy: float) -> LabelIssues:
    """:class:`LabelIssues` from cleanlab's ranked indices (the flagged set) and scores."""
    ranked = np.asarray(ranked, dtype=int)
    flagged = np.zeros(len(p), dtype=bool)
    flagged[ranked] = True
    return LabelIssues(probabilities=p, quality=np.asarray(quality), flagged=flagged,
                       ranked=ranked, folds=folds, C=float(C), accuracy=accuracy)


def _normalised(p: np.ndarray) -> np.ndarray:
    """Rows that sum to 1 with no exact zero (a class absent from a fold's fit scored 0)."""
    p = np.clip(p, 1e-12, None)
    return p / p.sum(axis=1, keepdims=True)


def multilabel_label_issues(features, multi_hot, *, folds: int = FOLDS, C: float = DEFAULT_C,
                            seed: int = 0) -> LabelIssues:
    """The multi-label check: out-of-fold per-class probabilities of one-vs-rest logistic
    regressions (k-fold, shuffled), then cleanlab's multi-label filter and ranking.

    Args:
        features: ``[n, d]`` cached features.
        multi_hot: ``[n, n_classes]`` given labels, 0/1.
        folds: Cross-fitting folds.
        C: Inverse L2 strength of every per-class regression.
        seed: Seed of the folds.

    Raises:
        ValueError: fewer than 2 examples per fold.
    """
    from cleanlab.multilabel_classification.filter import find_label_issues
    from cleanlab.multilabel_classification.rank import get_label_quality_scores

    y = np.asarray(multi_hot) > 0.5
    if len(y) < 2 * folds:
        raise ValueError(f"label issues need at least {2 * folds} examples")
    p = out_of_fold_multilabel(features, y, folds=folds, C=C, seed=seed)
    given = [list(np.flatnonzero(row)) for row in y]
    ranked = find_label_issues(given, p, return_indices_ranked_by="self_confidence", n_jobs=1)
    return _found(p, get_label_quality_scores(given, p), ranked, folds, C,
                  accuracy=float(((p >= 0.5) == y).all(axis=1).mean()))


def out_of_fold_multilabel(features, y, *, folds: int, C: float, seed: int) -> np.ndarray:
    """``[n, n_classes]`` probability of each label from regressions fitted without the
    example; a label constant in a fold's fitting part gets that constant."""
    from sklearn.model_selection import KFold
    from sklearn.preprocessing import StandardScaler

    x = np.asarray(features, dtype=np.float32).reshape(len(y), -1)
    out = np.zeros(y.shape)
    for fit_idx, score_idx in KFold(folds, shuffle=True, random_state=seed).split(x):
        scaler = StandardScaler().fit(x[fit_idx])  # once per fold, shared by every label
        fit_x, score_x = scaler.transform(x[fit_idx]), scaler.transform(x[score_idx])
        for k in range(y.shape[1]):
            target = y[fit_idx, k]
            if target.all() or not target.any():
                out[score_idx, k] = float(target[0])
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = _regression(C).fit(fit_x, target)
            out[score_idx, k] = model.predict_proba(score_x)[:, 1]
    return np.clip(out, 1e-6, 1 - 1e-6)
