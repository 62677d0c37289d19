"""The baseline helpers learning tests use (``transferkit.common.testing``)."""
import doctest
import math

import numpy as np
import pytest

from transferkit.common import testing
from transferkit.common.testing import (assert_beats_baseline, chance_pass_probability,
                                        majority_accuracy, mean_predictor_mse,
                                        predict_all_micro_f1)


def test_docstring_examples():
    result = doctest.testmod(testing)
    assert result.attempted >= 7 and result.failed == 0


def test_majority_accuracy_uses_the_train_majority():
    assert majority_accuracy(list("aab"), list("abbb")) == 0.25
    assert majority_accuracy([1, 1, 0], [1, 1, 1, 0]) == 0.75
    with pytest.raises(ValueError):
        majority_accuracy([], ["a"])


def test_predict_all_micro_f1_matches_a_direct_count():
    sets = [{"a"}, {"a", "b"}, {"c"}, {"b", "c"}]
    tp = sum(len(s) for s in sets)
    precision, recall = tp / (len(sets) * 3), 1.0
    expected = 2 * precision * recall / (precision + recall)
    assert predict_all_micro_f1(sets) == pytest.approx(expected)
    # a label that never occurs in the test sets still counts as predicted
    assert predict_all_micro_f1([{"a"}], labels=("a", "b")) == pytest.approx(2 / 3)


def test_mean_predictor_mse_is_the_test_variance_when_means_agree():
    rng = np.random.default_rng(0)
    y = rng.normal(size=100)
    assert mean_predictor_mse(y, y) == pytest.approx(float(np.var(y)))


def test_chance_pass_probability_is_the_binomial_upper_tail():
    n, p = 12, 0.3
    k = math.ceil(0.5 * n)
    tail = sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(k, n + 1))
    assert chance_pass_probability(n, 0.5, p) == pytest.approx(tail)
    assert chance_pass_probability(10, 0.7, 0.5) == pytest.approx(
        sum(math.comb(10, i) for i in range(7, 11)) / 2 ** 10)  # 0.7 * 10 is 7, not 8
    assert chance_pass_probability(5, 0.0, 0.2) == pytest.approx(1.0)
    assert chance_pass_probability(5, 1.01, 0.9) == 0.0
    # the small holdouts the issue names: 9 colour images at 0.5 pass by guessing too often
    assert chance_pass_probability(9, 0.5, 1 / 3) > 0.1
    assert chance_pass_probability(90, 0.6, 1 / 3) < 1e-4
    with pytest.raises(ValueError):
        chance_pass_probability(0, 0.5, 0.5)


def test_assert_beats_baseline():
    assert_beats_baseline(0.9, 0.5, 0.2)
    assert_beats_baseline(0.7, 0.5, 0.2)  # the margin is inclusive
    with pytest.raises(AssertionError, match="baseline"):
        assert_beats_baseline(0.69, 0.5, 0.2)
    assert_beats_baseline(0.95, 1 / 3, 0.3, n=60, chance=1 / 3)
    with pytest.raises(AssertionError, match="too easy"):  # even a perfect score on 9
        assert_beats_baseline(1.0, 1 / 3, 0.2, n=9, chance=1 / 3)
