"""Calibration: a deliberately over-confident head gets a temperature above 1, and its
expected calibration error falls on held-out data while its top-1 stays the same."""
import numpy as np
import pytest

from transferkit.common.data.labels import LabelCodec
from transferkit.common.output import calibration as cal
from transferkit.common.output.predictions import calibrate, map_sample


def _noisy_blobs(rng, n):
    """Three overlapping Gaussian classes in 8-d: learnable (~80 %), never certain."""
    y = rng.integers(0, 3, n)
    centres = rng.normal(0, 1.0, (3, 8))
    return centres[y] * 0.6 + rng.normal(0, 1.0, (n, 8)), y


@pytest.fixture(scope="module")
def over_confident():
    """A Keras softmax head fitted on noisy blobs, then its logits scaled by 6."""
    from transferkit.common.keras import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x, y = _noisy_blobs(rng, 1500)
    head = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3, activation="softmax")])
    head.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy")
    head.fit(x[:900], y[:900], epochs=30, batch_size=128, verbose=0)
    kernel, bias = head.layers[-1].get_weights()
    head.layers[-1].set_weights([kernel * 6.0, bias * 6.0])  # deliberately over-confident
    probs = head.predict(x, verbose=0)
    return {"validation": probs[900:1200], "test": probs[1200:]}, \
           {"validation": y[900:1200], "test": y[1200:]}


def test_temperature_scaling_lowers_the_ece_of_an_over_confident_head(over_confident):
    outputs, targets = over_confident
    accuracy = np.mean(outputs["test"].argmax(1) == targets["test"])
    assert 0.6 < accuracy < 0.97  # learnable but not certain: there is something to calibrate
    found = calibrate(LabelCodec("multiclass", ("a", "b", "c")), outputs, targets)
    print(f"\nT={found['temperature']:.3f} test ECE {found['test_ece_before']:.4f} -> "
          f"{found['test_ece_after']:.4f}")
    assert found["temperature"] > 2.0
    assert found["test_ece_after"] < found["test_ece_before"] / 2
    assert found["ece_after"] < found["ece_before"]
    calibrated = cal.apply_temperature(outputs["test"], found["temperature"])
    np.testing.assert_array_equal(calibrated.argmax(1), outputs["test"].argmax(1))
    np.testing.assert_allclose(calibrated.sum(1), 1.0, atol=1e-9)


def test_a_well_calibrated_head_keeps_a_temperature_near_one():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 2, (4000, 4))
    probs = cal.apply_temperature(np.exp(logits), 1.0)
    targets = np.array([rng.choice(4, p=p) for p in probs])  # drawn from its own outputs
    assert 0.9 < cal.fit_temperature(probs, targets) < 1.1
    assert cal.expected_calibration_error(probs, targets) < 0.03


def test_multilabel_thresholds_are_chosen_per_label():
    rng = np.random.default_rng(2)
    targets = rng.integers(0, 2, (400, 2))
    # label 0's scores sit low (best threshold well below 0.5), label 1's are centred
    probs = np.stack([0.1 + 0.2 * targets[:, 0] + rng.uniform(0, 0.1, 400),
                      0.3 + 0.4 * targets[:, 1] + rng.uniform(-0.15, 0.15, 400)], axis=1)
    found = calibrate(LabelCodec("multilabel", ("x", "y")), {"validation": probs},
                      {"validation": targets})
    assert found["thresholds"]["x"] < 0.35 and 0.35 <= found["thresholds"]["y"] <= 0.65


def test_regression_has_no_calibration_and_the_map_sample_is_capped():
    codec = LabelCodec("regression", ())
    assert calibrate(codec, {"validation": np.zeros((3, 1))}, {"validation": np.zeros(3)}) == {}
    features = {"test": np.arange(5000 * 2, dtype=np.float32).reshape(5000, 2)}
    sample = map_sample(features, {"test": np.arange(5000) % 3})
    assert sample["map_features"].shape == (2000, 2) and str(sample["map_split"]) == "test"
    np.testing.assert_array_equal(sample["map_targets"], (sample["map_features"][:, 0] / 2) % 3)
    assert map_sample(None, {}) == {}


def test_a_validation_split_with_no_mistake_keeps_temperature_one():
    # every example right: the NLL falls forever as T -> 0; sharpening is not calibration
    probs = np.array([[0.7, 0.3], [0.2, 0.8], [0.6, 0.4]])
    assert cal.fit_temperature(probs, np.array([0, 1, 0])) == 1.0
