"""Heads for the three tasks: output layer, loss and metrics; multilabel and regression runs."""
import dataclasses
import json

import numpy as np
import pytest

from transferkit.common.config import HeadConfig
from transferkit.common.model.heads import build_head, join, loss_and_metrics
from transferkit.common.keras import keras
from tests.common.conftest import COLOURS, colour_image, run_config, write_csv, write_png


@pytest.mark.parametrize("task, activation", [("multiclass", "softmax"),
                                              ("multilabel", "sigmoid"),
                                              ("regression", "linear")])
def test_output_layer_matches_the_task(task, activation):
    head = build_head((16,), HeadConfig(task=task, dropout=0.0), 3)
    out = head.get_layer("predictions")
    assert out.get_config()["activation"] == activation
    assert out.units == 3 and out.dtype == "float32"
    y = head(np.random.default_rng(0).normal(0, 3, (64, 16)).astype("float32")).numpy()
    if task == "multiclass":
        np.testing.assert_allclose(y.sum(axis=1), 1.0, atol=1e-5)
    if task == "multilabel":
        assert (y >= 0).all() and (y <= 1).all()
        assert not np.allclose(y.sum(axis=1), 1.0)  # independent labels
    if task == "regression":
        assert y.min() < 0 or y.max() > 1  # unbounded


def test_loss_and_metrics_per_task():
    loss, metrics = loss_and_metrics("multiclass")
    assert isinstance(loss, keras.losses.SparseCategoricalCrossentropy) and metrics == ["accuracy"]
    loss, metrics = loss_and_metrics("multilabel")
    assert isinstance(loss, keras.losses.BinaryCrossentropy)
    assert [type(m) for m in metrics] == [keras.metrics.BinaryAccuracy, keras.metrics.AUC]
    assert [m.name for m in metrics] == ["accuracy", "auc"] and metrics[1].multi_label
    loss, metrics = loss_and_metrics("regression")
    assert isinstance(loss, keras.losses.MeanSquaredError)
    assert [(type(m), m.name) for m in metrics] == [(keras.metrics.MeanAbsoluteError, "mae")]
    with pytest.raises(ValueError, match="unknown task 'ranking'"):
        loss_and_metrics("ranking")


def test_hidden_layers_dropout_and_flatten():
    head = build_head((4, 4, 8), HeadConfig(units=(32, 8), activation="tanh", dropout=0.3), 5)
    names = [layer.name for layer in head.layers]
    assert names.index("head_flatten") < names.index("head_dense_0") < names.index(
        "head_dense_1") < names.index("predictions")
    assert [head.get_layer(f"head_dense_{i}").units for i in (0, 1)] == [32, 8]
    assert head.get_layer("head_dense_0").get_config()["activation"] == "tanh"
    assert [head.get_layer(f"head_dropout_{i}").rate for i in (0, 1)] == [0.3, 0.3]
    assert head.output_shape == (None, 5)
    plain = build_head((16,), HeadConfig(dropout=0.0), 2)
    assert not any(isinstance(la, keras.layers.Dropout) for la in plain.layers)
    assert isinstance(build_head((16,), HeadConfig(dropout=0.5), 2).get_layer("head_dropout"),
                      keras.layers.Dropout)


def test_join_shares_the_backbone_layers():
    from transferkit.common.train.optim import TwoRateModel

    inputs = keras.Input((6,))
    backbone = keras.Model(inputs, keras.layers.Dense(4, name="body")(inputs))
    model = join(backbone, build_head((4,), HeadConfig(dropout=0.0), 3))
    assert isinstance(model, TwoRateModel)
    assert model.inputs == backbone.inputs and model.output_shape == (None, 3)
    assert model.get_layer("body") is backbone.get_layer("body")


def test_two_rate_model_steps_backbone_and_head_at_their_own_rates():
    """With SGD an update is exactly -lr × gradient: 0.1 for the head, 0.01 for the body."""
    from transferkit.common.keras import tf

    inputs = keras.Input((6,))
    backbone = keras.Model(inputs, keras.layers.Dense(4, activation="tanh", name="body")(inputs))
    model = join(backbone, build_head((4,), HeadConfig(dropout=0.0, standardize=False), 3))
    loss, _ = loss_and_metrics("multiclass")
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss)
    model.set_backbone_optimizer(keras.optimizers.SGD(0.01), backbone.trainable_variables)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 6)).astype("float32"), np.arange(8) % 3
    with tf.GradientTape() as tape:
        value = loss(y, model(x, training=True))
    variables = model.trainable_variables
    grads = [g.numpy() for g in tape.gradient(value, variables)]
    before = [v.numpy().copy() for v in variables]
    model.train_on_batch(x, y)
    body = {id(v) for v in backbone.trainable_variables}
    assert len(body) == 2 and len(variables) == 4
    for v, g, b in zip(variables, grads, before):
        lr = 0.01 if id(v) in body else 0.1
        np.testing.assert_allclose(v.numpy(), b - lr * g, rtol=1e-4, atol=1e-7, err_msg=v.name)


def test_two_rate_model_without_backbone_optimizer_is_a_plain_model():
    inputs = keras.Input((6,))
    backbone = keras.Model(inputs, keras.layers.Dense(4, name="body")(inputs))
    model = join(backbone, build_head((4,), HeadConfig(dropout=0.0), 2))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    before = backbone.get_layer("body").get_weights()[0].copy()
    model.fit(np.ones((4, 6), "float32"), np.array([0, 1, 0, 1]), verbose=0)
    assert not np.allclose(before, backbone.get_layer("body").get_weights()[0])


# End to end: multilabel (which channels are lit) and regression (mean brightness).

@pytest.fixture(scope="module")
def multilabel_run(tiny_backbone, tmp_path_factory):
    from transferkit.common.train.trainer import train_run

    root = tmp_path_factory.mktemp("multilabel")
    rng = np.random.default_rng(2)
    subsets = [("red",), ("green",), ("blue",), ("red", "green"), ("red", "blue"),
               ("green", "blue"), ("red", "green", "blue")]
    rows = []
    for i in range(140):
        lit = subsets[i % len(subsets)]
        rows.append((write_png(root / "img" / f"{i:03d}.png", colour_image(rng, channels=lit)),
                     "|".join(lit)))
    config = run_config(write_csv(root / "lit.csv", rows), epochs=40)
    config = dataclasses.replace(
        config, head=dataclasses.replace(config.head, task="multilabel"),
        data=dataclasses.replace(config.data, label_separator="|"))
    return train_run(config, root / "run", verbose=0)


def test_multilabel_run_learns_each_label(multilabel_run):
    test = multilabel_run.metrics["test"]
    assert multilabel_run.labels == COLOURS
    assert test["n"] == 35 and set(test["per_label"]) == set(COLOURS)
    assert test["micro_f1"] >= 0.9
    assert test["subset_accuracy"] >= 0.7  # chance for 7 equally likely subsets: 1/7
    for row in test["per_label"].values():
        assert row["f1"] >= 0.8
    # per-label thresholds chosen on validation, and the test metrics at them
    thresholds = json.loads((multilabel_run.run_dir / "calibration.json").read_text())["thresholds"]
    assert set(thresholds) == set(COLOURS) and all(0.05 <= t <= 0.95 for t in thresholds.values())
    tuned = test["at_tuned_thresholds"]
    assert tuned["n"] == 35 and tuned["micro_f1"] >= 0.85


def test_multilabel_run_reloads_with_sigmoid_outputs(multilabel_run):
    from transferkit.common.output.rundir import load

    run = load(multilabel_run.run_dir)
    assert run.codec.task == "multilabel" and run.codec.separator == "|"
    rng = np.random.default_rng(9)
    path = write_png(multilabel_run.run_dir.parent / "rb.png",
                     colour_image(rng, channels=("red", "blue")))
    probs = run.predict([path])
    assert probs.shape == (1, 3) and ((probs > 0) & (probs < 1)).all()
    [(labels, score)] = run.classify([path])
    assert sorted(labels) == ["blue", "red"] and score is None


@pytest.fixture(scope="module")
def brightness_run(tiny_backbone, tmp_path_factory):
    from transferkit.common.train.trainer import train_run

    root = tmp_path_factory.mktemp("brightness")
    rng = np.random.default_rng(3)
    rows = []
    for i, level in enumerate(rng.uniform(0.05, 0.95, 120)):
        image = colour_image(rng, brightness=float(level))
        rows.append((write_png(root / "img" / f"{i:03d}.png", image),
                     f"{image.mean() / 255:.4f}"))
    config = run_config(write_csv(root / "brightness.csv", rows), epochs=60)
    config = dataclasses.replace(config, head=dataclasses.replace(config.head,
                                                                  task="regression"))
    result = train_run(config, root / "run", verbose=0)
    return result, dict((path, float(value)) for path, value in rows)


def test_regression_run_beats_predicting_the_mean(brightness_run):
    from transferkit.common.output.rundir import load

    result, truth = brightness_run
    test = result.metrics["test"]
    assert load(result.run_dir).labels == ("value",) and test["n"] == 30
    values = np.array(list(truth.values()))
    baseline_mae = float(np.mean(np.abs(values - values.mean())))  # ≈ 0.22 for U(0.05, 0.95)
    assert test["mae"] < 0.25 * baseline_mae
    assert test["r2"] > 0.9


def test_regression_run_reloads_with_linear_outputs(brightness_run, tmp_path):
    from transferkit.common.output.rundir import load

    result, _ = brightness_run
    run = load(result.run_dir)
    rng = np.random.default_rng(10)
    paths = [write_png(tmp_path / f"{level}.png", colour_image(rng, brightness=level))
             for level in (0.2, 0.5, 0.8)]
    values = [value for value, score in run.classify(paths)]
    assert all(isinstance(v, float) for v in values)
    assert values[0] < values[1] < values[2]
    np.testing.assert_allclose(values, [0.2, 0.5, 0.8], atol=0.08)
