"""Near-duplicates inside a split and across splits, by cosine similarity of cached features.

Features are centred (on the mean of all splits) and scaled to unit length, so a dot
product is a cosine; pooled backbone features are mostly positive, and centring spreads
their cosines out. The similarity matrix is never held whole: blocks of rows are
multiplied at a time (``BLOCK`` x ``BLOCK`` floats), so 60k items need tens of MB.
A pair across train and validation/test is leakage: the held-out score then measures
memory, not generalisation.

Example:
    >>> found = near_duplicates({"train": f_train, "test": f_test})  # doctest: +SKIP
    >>> found[("train", "test")].total  # doctest: +SKIP
    12
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

THRESHOLD = 0.90  # measured on Fashion-MNIST + MobileNetV1 (benchmarks/inspect_noise.py)
BLOCK = 2048
MAX_PAIRS = 10_000  # most similar pairs kept per split pair; all are counted


@dataclass(frozen=True)
class Pairs:
    """Near-duplicate pairs between split ``a`` and split ``b`` (``a == b``: inside one).

    Attributes:
        a, b: Split names.
        i, j: Row indices into ``a`` and ``b`` (inside one split: ``i < j``).
        cosine: Their cosine similarity, most similar first.
        total: How many pairs passed the threshold (more than kept when capped).
    """

    a: str
    b: str
    i: np.ndarray
    j: np.ndarray
    cosine: np.ndarray
    total: int

    @property
    def leakage(self) -> bool:
        return self.a != self.b


def unit_rows(features, centre) -> np.ndarray:
    """``features`` minus ``centre``, each row scaled to length 1 (float32)."""
    x = np.asarray(features, dtype=np.float32).reshape(len(features), -1) - centre
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def similar_pairs(a: np.ndarray, b: np.ndarray | None = None, *, threshold: float = THRESHOLD,
                  block: int = BLOCK, max_pairs: int = MAX_PAIRS):
    """``(i, j, cosine, total)`` of unit rows with ``a[i] . b[j] >= threshold``.

    With ``b`` None the pairs are inside ``a``, each once (``i < j``), no self-pairs.
    """
    inside = b is None
    b = a if inside else b
    found, total = [], 0
    for r in range(0, len(a), block):
        for c in range(r if inside else 0, len(b), block):
            sims = a[r:r + block] @ b[c:c + block].T
            if inside and c == r:
                sims = np.triu(sims, k=1) + np.tril(np.full_like(sims, -2.0))
            ii, jj = np.nonzero(sims >= threshold)
            total += len(ii)
            found.append((ii + r, jj + c, sims[ii, jj]))
            if sum(len(f[0]) for f in found) > 2 * max_pairs:
                found = [_top(found, max_pairs)]
    i, j, cos = _top(found, max_pairs) if found else (np.zeros(0, int),) * 2 + (np.zeros(0),)
    return i, j, cos, total


def _top(found, k: int):
    i, j, cos = (np.concatenate([f[n] for f in found]) for n in range(3))
    order = np.argsort(-cos, kind="stable")[:k]
    return i[order], j[order], cos[order]


def near_duplicates(features: dict, *, threshold: float = THRESHOLD,
                    max_pairs: int = MAX_PAIRS) -> dict[tuple[str, str], Pairs]:
    """Pairs inside every split and across every two splits (train first).

    Args:
        features: Split name -> ``[n, d]`` cached features (same backbone).
        threshold: Cosine at or above which two items count as near-duplicates.
        max_pairs: Pairs kept per split pair (all are counted).
    """
    names = [s for s in features if len(features[s])]
    sums = [np.asarray(features[s]).reshape(len(features[s]), -1).sum(axis=0, dtype=np.float64)
            for s in names]  # the pooled mean without a pooled copy
    centre = (np.sum(sums, axis=0) / sum(len(features[s]) for s in names)).astype(np.float32)
    unit = {s: unit_rows(features[s], centre) for s in names}
    out = {}
    for n, a in enumerate(names):
        for b in names[n:]:
            i, j, cos, total = similar_pairs(unit[a], None if a == b else unit[b],
                                             threshold=threshold, max_pairs=max_pairs)
            out[(a, b)] = Pairs(a, b, i, j, cos, total)
    return out
