"""Seeded, stratified (or group-aware) train/validation/test splits, and stratified subsets.

The one home of stratified sampling: :func:`split_examples` (splits), :func:`stratified_indices`
(``n`` examples overall, class proportions kept: ``--limit``, the tweets subset) and
:func:`per_class_indices` (exactly ``k`` of every class: the Fashion-MNIST folders).
"""
from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

from transferkit.common.data.domain import Examples


@dataclass(frozen=True)
class Splits:
    train: Examples
    validation: Examples
    test: Examples | None = None


def _stratify_key(labels) -> list | None:
    keys = [lab if isinstance(lab, str) else None for lab in labels]
    if None in keys:
        return None
    counts = Counter(keys)
    return keys if min(counts.values()) >= 2 else None


def _take(n: int, fraction: float) -> int:
    return 0 if fraction <= 0 else max(1, int(round(n * fraction)))


def _stratified_order(labels, seed: int) -> list[int]:
    """A permutation interleaving classes, so any prefix is (nearly) stratified."""
    rng = np.random.default_rng(seed)
    keys = _stratify_key(labels)
    if keys is None:
        return list(rng.permutation(len(labels)))
    by_class: dict[str, list[int]] = {}
    for i in rng.permutation(len(labels)):
        by_class.setdefault(keys[i], []).append(int(i))
    # Rank each item by its position within its class, scaled by class size.
    ranked = [(pos / len(idx), rng.random(), i)
              for idx in by_class.values() for pos, i in enumerate(idx)]
    return [i for _, _, i in sorted(ranked)]


def stratified_indices(labels, n: int, seed: int = 0) -> list[int]:
    """Indices of ``n`` examples with the class proportions kept, in a seeded random order.

    Every class keeps at least one example. All indices when ``n`` is 0 or too large.

    Example:
        >>> sorted(stratified_indices(["a", "a", "a", "b"], 2))
        [0, 3]
    """
    if not n or n >= len(labels):
        return list(range(len(labels)))
    by_label = defaultdict(list)
    for i, label in enumerate(labels):
        by_label[label].append(i)
    rng = random.Random(seed)
    picked = []
    for label in sorted(by_label, key=str):
        group = by_label[label]
        rng.shuffle(group)
        picked += group[: max(1, round(n * len(group) / len(labels)))]
    rng.shuffle(picked)
    return picked[:n]


def per_class_indices(labels, per_class: int | None, seed: int = 0) -> np.ndarray:
    """Sorted indices of exactly ``per_class`` random examples of every class (all: None).

    Raises:
        ValueError: a class has fewer than ``per_class`` examples.

    Example:
        >>> per_class_indices(np.array([0, 1, 0, 1, 0]), 1, seed=0).size
        2
    """
    labels = np.asarray(labels)
    if per_class is None:
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    picked = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if per_class > members.size:
            raise ValueError(f"class {label} has {members.size} examples, asked for {per_class}")
        picked.append(rng.choice(members, size=per_class, replace=False))
    return np.sort(np.concatenate(picked))


def limit_examples(examples: Examples, limit: int, seed: int = 0) -> Examples:
    """At most ``limit`` examples, stratified by class where labels are class names."""
    if not limit or limit >= len(examples):
        return examples
    if _stratify_key(examples.labels) is None:  # multi-label, regression: a random subset
        return examples.subset(sorted(np.random.default_rng(seed).permutation(
            len(examples))[:limit].tolist()))
    return examples.subset(sorted(stratified_indices(examples.labels, limit, seed)))


def split_examples(examples: Examples, validation: float = 0.1, test: float = 0.1,
                   seed: int = 0) -> Splits:
    """Split into train/validation/test.

    Stratified by class for single-label data; when ``examples.groups`` is set (speakers,
    voices) whole groups go to one side, so test groups are never seen in training.

    Example:
        >>> s = split_examples(Examples(tuple("abcdefghij"), tuple("xy" * 5)), 0.2, 0.2)
        >>> len(s.train), len(s.validation), len(s.test)
        (6, 2, 2)
    """
    if len(examples) < 3:
        raise ValueError(f"need at least 3 examples to split, got {len(examples)}")
    if examples.groups is not None:
        return _split_groups(examples, validation, test, seed)
    order = _stratified_order(examples.labels, seed)
    n = len(order)
    n_test, n_val = _take(n, test), _take(n, validation)
    # Consecutive slices of the interleaved order are stratified; every k-th item is not.
    test_idx = order[:n_test]
    val_idx = order[n_test:n_test + n_val]
    train_idx = order[n_test + n_val:]
    return Splits(train=examples.subset(sorted(train_idx)),
                  validation=examples.subset(sorted(val_idx)),
                  test=examples.subset(sorted(test_idx)) if n_test else None)


def _split_groups(examples: Examples, validation: float, test: float, seed: int) -> Splits:
    groups = sorted(set(examples.groups))
    rng = np.random.default_rng(seed)
    rng.shuffle(groups)
    n = len(groups)
    n_test, n_val = _take(n, test), _take(n, validation)
    if n - n_test - n_val < 1:
        raise ValueError(f"only {n} groups: too few for a group-aware split")
    test_g, val_g = set(groups[:n_test]), set(groups[n_test:n_test + n_val])
    pick = lambda keep: [i for i, g in enumerate(examples.groups) if keep(g)]  # noqa: E731
    return Splits(
        train=examples.subset(pick(lambda g: g not in test_g and g not in val_g)),
        validation=examples.subset(pick(lambda g: g in val_g)),
        test=examples.subset(pick(lambda g: g in test_g)) if n_test else None)
