"""One shared check for every backbone (keras-hub's ``run_task_test`` idea).

Build, forward, one fit step with a head, save weights, rebuild, compare; then export a
SavedModel, reload it and compare again.
"""
from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from transferkit.common.model.registry import Backbone
from transferkit.common.config import HeadConfig
from transferkit.common.model.freezing import all_trainable
from transferkit.common.model.heads import build_head, join, loss_and_metrics
from transferkit.common.output.export import save_serving
from transferkit.common.keras import keras, tf


def check_backbone(build: Callable[[], Backbone], inputs, atol: float = 1e-4) -> dict:
    """Run the standard backbone checks; returns the feature shape and the diffs.

    Args:
        build: Builds the backbone with random weights (called twice): a
            :class:`~transferkit.common.model.registry.Backbone` or a tf_keras model.
        inputs: A small batch of model inputs (array or dict of arrays).
    """
    backbone = _model(build())
    feats = backbone(inputs, training=False).numpy()
    assert feats.ndim == 2 and feats.shape[0] == _batch(inputs), feats.shape
    assert np.all(np.isfinite(feats)), "non-finite features"
    head = build_head(tuple(backbone.output_shape[1:]), HeadConfig(units=(8,)), 2)
    model = join(backbone, head)
    loss, metrics = loss_and_metrics("multiclass")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss, metrics=metrics)
    targets = np.arange(_batch(inputs)) % 2
    history = model.fit(inputs, targets, epochs=1, batch_size=_batch(inputs), verbose=0)
    assert np.isfinite(history.history["loss"][0])
    before = model.predict(inputs, verbose=0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.h5"
        with all_trainable(model):
            model.save_weights(str(path), save_format="h5")
        fresh = join(_model(build()), build_head(tuple(backbone.output_shape[1:]),
                                         HeadConfig(units=(8,)), 2))
        fresh.load_weights(str(path))
        weights_diff = float(np.max(np.abs(fresh.predict(inputs, verbose=0) - before)))
        # The SavedModel as every run exports it: one serving signature, no layer traces.
        save_serving(keras.Model(model.inputs, model.outputs), Path(tmp) / "sm")
        fn = tf.saved_model.load(str(Path(tmp) / "sm")).signatures["serving_default"]
        _, names = fn.structured_input_signature
        args = inputs if isinstance(inputs, dict) else {next(iter(names)): inputs}
        saved = next(iter(fn(**{k: tf.constant(v) for k, v in args.items()}).values())).numpy()
        saved_diff = float(np.max(np.abs(saved - before)))
    assert weights_diff < atol, f"reloaded weights give different outputs ({weights_diff})"
    assert saved_diff < atol, f"SavedModel gives different outputs ({saved_diff})"
    return {"feature_shape": feats.shape[1:], "weights_diff": weights_diff,
            "saved_diff": saved_diff}


def _model(built):
    return built.model if isinstance(built, Backbone) else built


def _batch(inputs) -> int:
    if isinstance(inputs, dict):
        return len(next(iter(inputs.values())))
    return len(inputs)


# ---------------------------------------------------------------------------------------
# Baselines for learning tests: every learning test scores its model against the trivial
# predictor on its own data, with a margin, on enough examples that guessing cannot pass.


def majority_accuracy(train_labels, test_labels) -> float:
    """Accuracy on ``test_labels`` of always predicting the most common ``train_labels`` class.

    Ties go to the smallest label (as ``np.unique`` orders them).

    >>> majority_accuracy(["a", "a", "b"], ["a", "b", "b", "b"])
    0.25
    """
    values, counts = np.unique(np.asarray(list(train_labels)), return_counts=True)
    if not len(values):
        raise ValueError("majority_accuracy needs at least one training label")
    majority = values[int(np.argmax(counts))]
    test = np.asarray(list(test_labels))
    if not len(test):
        raise ValueError("majority_accuracy needs at least one test label")
    return float(np.mean(test == majority))


def predict_all_micro_f1(test_label_sets, labels=None) -> float:
    """Micro-F1 of predicting every label for every example (the multi-label baseline).

    Recall is 1, precision is the fraction of (example, label) pairs that are true, so
    micro-F1 is ``2 * d / (1 + d)`` with ``d`` that density.

    >>> round(predict_all_micro_f1([{"a"}, {"a", "b"}], labels=("a", "b")), 4)
    0.8571
    """
    sets = [set(s) for s in test_label_sets]
    names = set(labels) if labels is not None else set().union(*sets)
    if not sets or not names:
        raise ValueError("predict_all_micro_f1 needs examples and labels")
    density = sum(len(s & names) for s in sets) / (len(sets) * len(names))
    return 2 * density / (1 + density)


def mean_predictor_mse(train_targets, test_targets) -> float:
    """MSE on ``test_targets`` of predicting the mean of ``train_targets`` (regression baseline).

    >>> mean_predictor_mse([0.0, 2.0], [1.0, 3.0])
    2.0
    """
    mean = float(np.mean(np.asarray(train_targets, dtype="float64")))
    test = np.asarray(test_targets, dtype="float64")
    return float(np.mean((test - mean) ** 2))


def chance_pass_probability(n: int, threshold: float, p: float) -> float:
    """P[Binomial(n, p) >= ceil(threshold * n)]: the chance a guesser right with probability
    ``p`` per example scores at least ``threshold`` on ``n`` examples.

    >>> round(chance_pass_probability(9, 0.5, 1 / 3), 3)   # 5 of 9 colours by guessing
    0.145
    >>> chance_pass_probability(90, 0.6, 1 / 3) < 0.01
    True
    """
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be a probability, got {p}")
    # A small tolerance so 0.7 * 10 counts as 7, not 8, despite float rounding.
    k = max(0, math.ceil(threshold * n - 1e-9))
    if k > n:
        return 0.0
    return float(sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(k, n + 1)))


def assert_beats_baseline(score: float, baseline: float, margin: float, n: int | None = None,
                          chance: float | None = None, what: str = "score") -> None:
    """Assert ``score >= baseline + margin``; with ``n`` and ``chance`` also assert that a
    guesser right with probability ``chance`` per example reaches ``baseline + margin`` on
    ``n`` examples with probability under 1% (the test cannot be passed by guessing).

    >>> assert_beats_baseline(0.9, 0.34, 0.3, n=60, chance=0.34)
    >>> assert_beats_baseline(0.6, 0.34, 0.3)
    Traceback (most recent call last):
    AssertionError: score 0.6000 < baseline 0.3400 + margin 0.3000
    """
    if n is not None and chance is not None:
        pass_p = chance_pass_probability(n, baseline + margin, chance)
        assert pass_p < 0.01, (
            f"too easy: a guesser at {chance:.3f} reaches {baseline + margin:.3f} on n={n} "
            f"with probability {pass_p:.3f} (needs < 0.01): more test data or a wider margin")
    assert score >= baseline + margin, (
        f"{what} {score:.4f} < baseline {baseline:.4f} + margin {margin:.4f}")
