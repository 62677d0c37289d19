"""Contrastive pairs for few-shot tuning, sampled as SetFit's ``ContrastiveDataset`` does.

Every unordered pair of training examples (with replacement, so an example paired with
itself is a positive) is visited in a seeded random order; a pair is positive (target 1)
when the two share a label (multi-label: any label) and negative (target 0) otherwise.
"Oversampling" balances the two sets to the larger one by cycling through the smaller, and
the pairs alternate positive, negative. ``max_pairs`` keeps the first pairs of that
sequence, so a capped set stays balanced and is a random sample of each set.

Example:
    >>> pairs = contrastive_pairs(np.array([0, 0, 1, 1]), seed=0)
    >>> len(pairs), float(pairs.targets.mean())
    (12, 0.5)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ENUMERATE_LIMIT = 2_000_000  # above this many combinations, candidates are drawn at random


@dataclass(frozen=True)
class Pairs:
    """Row ``k`` pairs item ``left[k]`` with item ``right[k]``; ``targets[k]`` is 1 or 0."""

    left: np.ndarray
    right: np.ndarray
    targets: np.ndarray

    def __len__(self) -> int:
        return len(self.targets)

    def first(self, n: int) -> "Pairs":
        return Pairs(self.left[:n], self.right[:n], self.targets[:n])

    def shuffled(self, seed: int) -> "Pairs":
        """The same pairs in a seeded random order (for each epoch's batches)."""
        order = np.random.default_rng(seed).permutation(len(self))
        return Pairs(self.left[order], self.right[order], self.targets[order])


def contrastive_pairs(labels, *, seed: int, max_pairs: int = 0) -> Pairs:
    """Balanced positive/negative pairs of the examples' indices.

    Args:
        labels: Encoded labels: class ids ``[n]`` or multi-hot rows ``[n, classes]``.
        seed: Seeds the order of the candidate pairs.
        max_pairs: Keep at most this many pairs (0 = every oversampled pair).

    Raises:
        ValueError: fewer than two examples, or no two of them with different labels.
    """
    labels = np.asarray(labels)
    n = len(labels)
    if n < 2:
        raise ValueError(f"contrastive tuning needs at least 2 training examples, got {n}")
    rng = np.random.default_rng(seed)
    i, j = _candidates(n, rng)
    same = _same_label(labels, i, j)
    pos, neg = np.flatnonzero(same), np.flatnonzero(~same)
    if len(neg) == 0:
        raise ValueError("contrastive tuning needs examples of at least two different "
                         "labels in the training split")
    size = max(len(pos), len(neg))  # SetFit's "oversampling"
    chosen = np.empty(2 * size, np.int64)
    chosen[0::2] = np.resize(pos, size)  # np.resize repeats: cycles through the smaller
    chosen[1::2] = np.resize(neg, size)
    if max_pairs:
        chosen = chosen[:max_pairs]
    return Pairs(i[chosen], j[chosen], same[chosen].astype(np.float32))


def _candidates(n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Every pair ``i <= j`` in a random order; for large sets, that many drawn at random."""
    total = n * (n + 1) // 2
    if total <= ENUMERATE_LIMIT:
        i, j = np.triu_indices(n)
        order = rng.permutation(total)
        return i[order].astype(np.int64), j[order].astype(np.int64)
    a, b = rng.integers(n, size=(2, ENUMERATE_LIMIT))
    return np.minimum(a, b), np.maximum(a, b)


def _same_label(labels: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    if labels.ndim == 1:
        return labels[i] == labels[j]
    return np.any(np.logical_and(labels[i] > 0.5, labels[j] > 0.5), axis=1)
