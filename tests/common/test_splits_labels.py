"""Splits (stratified, seeded, group-aware), label encoding and the evaluation metrics."""
from collections import Counter

import numpy as np
import pytest

from transferkit.common.data.domain import Examples
from transferkit.common.output.evaluate import evaluate_predictions, headline
from transferkit.common.data.labels import LabelCodec
from transferkit.common.data.splits import limit_examples, split_examples


def _examples(counts: dict, groups=None) -> Examples:
    labels = [name for name, n in counts.items() for _ in range(n)]
    return Examples(items=tuple(f"item{i}" for i in range(len(labels))), labels=tuple(labels),
                    groups=groups)


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_balanced_classes_split_exactly_evenly(seed):
    splits = split_examples(_examples({"a": 40, "b": 40, "c": 40}), 0.2, 0.25, seed=seed)
    assert Counter(splits.test.labels) == {"a": 10, "b": 10, "c": 10}
    assert Counter(splits.validation.labels) == {"a": 8, "b": 8, "c": 8}
    assert Counter(splits.train.labels) == {"a": 22, "b": 22, "c": 22}


@pytest.mark.parametrize("seed", [0, 3, 11])
def test_unbalanced_classes_keep_their_proportions(seed):
    counts = {"big": 70, "mid": 20, "small": 10}
    splits = split_examples(_examples(counts), 0.1, 0.2, seed=seed)
    assert (len(splits.test), len(splits.validation)) == (20, 10)
    for part in (splits.test, splits.validation):
        got = Counter(part.labels)
        for name, n in counts.items():
            assert abs(got[name] - n * len(part) / 100) < 2, (name, got)


def test_splits_are_disjoint_complete_and_seeded():
    examples = _examples({"a": 13, "b": 9, "c": 5})
    one = split_examples(examples, 0.2, 0.2, seed=5)
    parts = [set(one.train.items), set(one.validation.items), set(one.test.items)]
    assert sum(map(len, parts)) == len(examples)
    assert set().union(*parts) == set(examples.items)
    assert split_examples(examples, 0.2, 0.2, seed=5) == one
    assert split_examples(examples, 0.2, 0.2, seed=6) != one
    for part in (one.train, one.validation, one.test):  # items keep their own labels
        assert all(examples.labels[examples.items.index(i)] == lab
                   for i, lab in zip(part.items, part.labels))


def test_no_test_split_when_fraction_is_zero():
    splits = split_examples(_examples({"a": 10, "b": 10}), 0.2, 0.0)
    assert splits.test is None and len(splits.validation) == 4 and len(splits.train) == 16


def test_group_aware_split_keeps_groups_on_one_side():
    groups = tuple(f"voice{i % 10}" for i in range(100))
    splits = split_examples(_examples({"a": 50, "b": 50}, groups=groups), 0.2, 0.2, seed=0)
    sides = [set(s.groups) for s in (splits.train, splits.validation, splits.test)]
    assert [len(s) for s in sides] == [6, 2, 2]
    assert not (sides[0] & sides[1] or sides[0] & sides[2] or sides[1] & sides[2])


def test_too_few_examples_is_an_error():
    with pytest.raises(ValueError, match="at least 3"):
        split_examples(_examples({"a": 1, "b": 1}))


def test_limit_is_stratified():
    limited = limit_examples(_examples({"a": 50, "b": 30, "c": 20}), 20, seed=0)
    assert Counter(limited.labels) == {"a": 10, "b": 6, "c": 4}
    assert limit_examples(_examples({"a": 5, "b": 5}), 0) == _examples({"a": 5, "b": 5})


def test_multiclass_codec_round_trip_and_unseen_label():
    codec = LabelCodec.fit(["dog", "cat", "dog", "bird"])
    assert codec.names == ("bird", "cat", "dog") and codec.num_outputs == 3
    np.testing.assert_array_equal(codec.encode(["cat", "dog"]), [1, 2])
    assert codec.decode(np.array([[0.1, 0.7, 0.2], [0.8, 0.1, 0.1]])) == ["cat", "bird"]
    with pytest.raises(ValueError, match="'fish' was not seen"):
        codec.encode(["fish"])
    with pytest.raises(ValueError, match="at least 2 classes"):
        LabelCodec.fit(["only", "only"])


def test_multilabel_and_regression_codecs():
    codec = LabelCodec.fit(["red|green", "blue", "green"], "multilabel", "|")
    assert codec.names == ("blue", "green", "red")
    np.testing.assert_array_equal(codec.encode(["red|green", ["blue"], "  green | red "]),
                                  [[0, 1, 1], [1, 0, 0], [0, 1, 1]])
    assert codec.decode(np.array([[0.9, 0.2, 0.6]])) == [["blue", "red"]]
    reg = LabelCodec.fit(["1.5", "2"], "regression")
    assert reg.names == ("value",)
    np.testing.assert_allclose(reg.encode(["1.5", 2]), [1.5, 2.0])
    assert reg.decode(np.array([[0.25], [3.0]])) == [0.25, 3.0]
    with pytest.raises(ValueError, match="must be numbers"):
        reg.encode(["tall"])


def test_multiclass_metrics_by_hand():
    codec = LabelCodec("multiclass", ("a", "b", "c"))
    targets = np.array([0, 0, 1, 1, 2, 2])
    outputs = np.eye(3)[[0, 1, 1, 1, 2, 0]]  # one a->b, one c->a
    m = evaluate_predictions(codec, targets, outputs)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert m["per_class"]["a"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert m["per_class"]["b"]["precision"] == pytest.approx(2 / 3)
    assert m["per_class"]["c"]["recall"] == 0.5
    assert m["majority_baseline"] == pytest.approx(1 / 3)
    assert headline(m).startswith("accuracy=0.6667, macro_f1=")


def test_multilabel_and_regression_metrics_by_hand():
    codec = LabelCodec("multilabel", ("x", "y"))
    m = evaluate_predictions(codec, np.array([[1, 0], [1, 1]]), np.array([[.9, .1], [.8, .3]]))
    assert m["subset_accuracy"] == 0.5 and m["per_label"]["y"]["recall"] == 0.0
    reg = evaluate_predictions(LabelCodec("regression", ("value",)), np.array([1.0, 3.0]),
                               np.array([[2.0], [3.0]]))
    assert reg["mae"] == 0.5 and reg["mse"] == 0.5 and reg["r2"] == pytest.approx(0.5)


def test_stratified_indices_keep_proportions_and_every_class():
    from transferkit.common.data.splits import stratified_indices

    labels = ["a"] * 60 + ["b"] * 30 + ["c"] * 10
    picked = stratified_indices(labels, 20, seed=0)
    assert len(picked) == len(set(picked)) == 20
    counts = {c: sum(labels[i] == c for i in picked) for c in "abc"}
    assert counts == {"a": 12, "b": 6, "c": 2}
    assert picked == stratified_indices(labels, 20, seed=0) != stratified_indices(labels, 20, 1)
    rare = ["a"] * 99 + ["b"]
    assert {rare[i] for i in stratified_indices(rare, 5)} == {"a", "b"}  # b kept
    assert stratified_indices(labels, 0) == list(range(100))
