"""The head's feature standardisation: any feature scale trains, and it saves and reloads."""
import numpy as np

from transferkit.common.config import HeadConfig
from transferkit.common.model.heads import FEATURE_NORM, adapt_head, build_head, loss_and_metrics
from transferkit.common.model.standardize import FeatureStandardization


def _separable(n=300, dim=16, scale=1e-20, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = rng.normal(size=(3, dim))
    x = (centres[y] + 0.3 * rng.normal(size=(n, dim)) + 5.0) * scale  # random-init-like scale
    return x.astype(np.float32), y


def test_adapt_gives_zero_mean_unit_std_at_tiny_scale():
    x, _ = _separable()
    layer = FeatureStandardization()
    layer.adapt(x)
    z = layer(x).numpy()
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-3)
    np.testing.assert_allclose(z.std(axis=0), 1.0, atol=1e-3)


def test_constant_feature_stays_finite_and_near_zero():
    x, _ = _separable()
    x[:, 0] = 3e-20
    layer = FeatureStandardization()
    layer.adapt(x)
    z = layer(x).numpy()
    assert np.isfinite(z).all()
    assert np.abs(z[:, 0]).max() < 1e-3


def test_head_learns_features_of_scale_1e20(tf_keras):
    x, y = _separable()
    head = build_head((x.shape[1],), HeadConfig(units=(), dropout=0.0), 3)
    adapt_head(head, x[:200])
    loss, metrics = loss_and_metrics("multiclass")
    head.compile(optimizer=tf_keras.optimizers.Adam(1e-2), loss=loss, metrics=metrics)
    head.fit(x[:200], y[:200], epochs=30, verbose=0)
    accuracy = head.evaluate(x[200:], y[200:], verbose=0)[1]
    assert accuracy > 0.9, accuracy


def test_head_without_standardize_has_no_layer(tf_keras):
    head = build_head((8,), HeadConfig(standardize=False), 2)
    assert FEATURE_NORM not in [layer.name for layer in head.layers]
    adapt_head(head, np.ones((4, 8)))  # a no-op, not an error


def test_saved_head_reloads_with_its_statistics(tf_keras, tmp_path):
    x, _ = _separable()
    head = build_head((x.shape[1],), HeadConfig(units=(4,)), 3)
    adapt_head(head, x)
    want = head.predict(x[:5], verbose=0)
    head.save(tmp_path / "head.keras")
    head.save(tmp_path / "head.h5")
    for path in ("head.keras", "head.h5"):
        again = tf_keras.models.load_model(tmp_path / path)
        np.testing.assert_allclose(again.predict(x[:5], verbose=0), want, rtol=1e-5, atol=1e-6)
