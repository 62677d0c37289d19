"""AdaBN changes only the BatchNorm moving statistics; CORAL's fold is exact; ``transferkit
adapt`` writes a complete, loadable new run whose report says what changed."""
import json

import numpy as np
import pytest

from transferkit.common.keras import keras
from tests.common.conftest import SIZE, colour_image, tiny_cnn_layers, write_folders, COLOURS


def _tiny_model():
    from transferkit.common.config import HeadConfig
    from transferkit.common.model.contracts import ImageContract
    from transferkit.common.model.heads import build_head, join

    backbone = tiny_cnn_layers(ImageContract(size=SIZE, scaling="unit"))
    head = build_head(backbone.output_shape[1:], HeadConfig(units=(8,), dropout=0.5), 3)
    return join(backbone, head)


def _target_images(n=50, seed=0):
    """Darker, low-contrast noise images: a shift every BN layer sees."""
    rng = np.random.default_rng(seed)
    return (rng.uniform(0, 1, (n, SIZE, SIZE, 3)) * 60 + 20).astype(np.float32)


def _batches(images, size=16):
    return [images[i:i + size] for i in range(0, len(images), size)]  # last one smaller


def test_adabn_changes_only_the_batchnorm_moving_statistics():
    from transferkit.common.train.adabn import adapt_batchnorm

    model = _tiny_model()
    before = [(v.name, v.numpy().copy()) for v in model.variables]
    changes = adapt_batchnorm(model, _batches(_target_images()))
    assert [c.name for c in changes] == ["bn1", "bn2"]
    stats = 0
    for (name, old), var in zip(before, model.variables):
        if "moving_mean" in name or "moving_variance" in name:
            stats += 1
            assert not np.allclose(old, var.numpy()), f"{name} did not move"
        else:
            assert np.array_equal(old, var.numpy()), f"{name} changed"
    assert stats == 4
    assert all(c.mean_shift > 0 for c in changes)
    assert model.get_layer("bn1").momentum == 0.99  # restored
    assert model.get_layer("bn1").trainable


def test_adabn_pools_every_batch_into_the_target_statistics():
    """bn1's input does not depend on any BN layer, so its adapted statistics must be the
    exact mean/variance of conv1's output over all target images (not the last batch's)."""
    from transferkit.common.train.adabn import adapt_batchnorm

    model, images = _tiny_model(), _target_images()
    conv1 = keras.Model(model.inputs, model.get_layer("conv1").output).predict(images, verbose=0)
    adapt_batchnorm(model, _batches(images))
    bn1 = model.get_layer("bn1")
    flat = conv1.reshape(-1, conv1.shape[-1]).astype(np.float64)
    np.testing.assert_allclose(bn1.moving_mean.numpy(), flat.mean(axis=0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn1.moving_variance.numpy(), flat.var(axis=0), rtol=2e-3)


def test_adabn_against_the_source_leaves_an_unshifted_domain_alone():
    """With the source's statistics as the reference, a target from the source's own
    distribution keeps the model as it was; a shifted one moves it."""
    from transferkit.common.train.adabn import adapt_batchnorm

    model, source = _tiny_model(), _target_images(48, seed=0)
    probe = _target_images(8, seed=9)
    before = model.predict(probe, verbose=0)
    adapt_batchnorm(model, _batches(_target_images(48, seed=1)), source_batches=_batches(source))
    np.testing.assert_allclose(model.predict(probe, verbose=0), before, atol=0.05)
    stats = model.get_layer("bn1").moving_mean.numpy().copy()
    adapt_batchnorm(model, _batches(source * 0.3 + 100), source_batches=_batches(source))
    assert not np.allclose(model.get_layer("bn1").moving_mean.numpy(), stats, atol=0.05)


def test_adabn_on_a_frozen_model_still_adapts():
    from transferkit.common.train.adabn import adapt_batchnorm

    model = _tiny_model()
    model.trainable = False  # a frozen BN layer would ignore training=True
    old = model.get_layer("bn2").moving_mean.numpy().copy()
    adapt_batchnorm(model, _batches(_target_images(20)))
    assert not np.allclose(old, model.get_layer("bn2").moving_mean.numpy())
    assert not model.get_layer("bn2").trainable


def test_adabn_refuses_a_model_without_batchnorm():
    from transferkit.common.train.adabn import adapt_batchnorm

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    with pytest.raises(ValueError, match="CORAL"):
        adapt_batchnorm(model, [np.zeros((2, 4), np.float32)])


def test_coral_map_gives_target_features_the_source_covariance():
    from transferkit.common.train.coral import coral_map

    rng = np.random.default_rng(0)
    source = rng.normal(0, 1, (4000, 5)) @ rng.normal(0, 1, (5, 5))
    target = rng.normal(3, 1, (4000, 5)) @ rng.normal(0, 1, (5, 5))
    a, c = coral_map(source, target, shrinkage=0.0)
    mapped = target @ a + c
    np.testing.assert_allclose(mapped.mean(axis=0), source.mean(axis=0), atol=1e-8)
    np.testing.assert_allclose(np.cov(mapped, rowvar=False), np.cov(source, rowvar=False),
                               rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("standardize", [True, False])
def test_coral_fold_into_the_head_is_exact(standardize):
    from transferkit.common.config import HeadConfig
    from transferkit.common.model.heads import adapt_head, build_head
    from transferkit.common.train.coral import coral_map, fold_into_head

    rng = np.random.default_rng(1)
    source, target = rng.normal(0, 2, (300, 6)), rng.normal(1, 0.5, (300, 6))
    head = build_head((6,), HeadConfig(units=(4,), standardize=standardize), 3)
    adapt_head(head, source)
    a, c = coral_map(source, target)
    expected = head.predict((target @ a + c).astype(np.float32), verbose=0)
    assert fold_into_head(head, a, c) == "head_dense_0"
    np.testing.assert_allclose(head.predict(target.astype(np.float32), verbose=0), expected,
                               rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def shifted_colours(session_tmp):
    """The colour classes, darker and washed out: a target domain of the colour run."""
    def make(rng, cls):
        return (colour_image(rng, cls).astype(np.float32) * 0.4 + 60).astype(np.uint8)

    return write_folders(session_tmp / "colours_shifted", COLOURS, make, per_class=12, seed=5)


def test_adapt_writes_a_complete_new_run(colour_run, shifted_colours, tmp_path):
    from transferkit.common.cli.parser import main
    from transferkit.common.output.rundir import load

    source, out = colour_run.result.run_dir, tmp_path / "adapted"
    assert main(["adapt", str(source), "--target", str(shifted_colours), "--eval-data",
                 str(shifted_colours), "--out", str(out)]) == 0
    info = json.loads((out / "adaptation.json").read_text())
    assert info["method"] == "adabn" and info["layers"] == 2 and info["reference"] == "source"
    assert info["changed_variables"] and all("moving_" in n for n in info["changed_variables"])
    assert info["labels_used_for_adaptation"] is False and "accuracy" in info["after"]
    manifest = json.loads((out / "run.json").read_text())["files"]
    assert {"adaptation.json", "config.json", "model_weights.h5", "report.html"} <= set(manifest)
    adapted, original = load(out), load(source)
    items = sorted(str(p) for p in shifted_colours.rglob("*.png"))[:8]
    assert not np.allclose(adapted.predict(items), original.predict(items))
    bn = adapted.keras_model().get_layer("bn1").moving_mean.numpy()
    assert not np.allclose(bn, original.keras_model().get_layer("bn1").moving_mean.numpy())
    html = (out / "report.html").read_text()
    assert "Domain adaptation" in html and "bn1" in html and "bit-identical" in html
    assert json.loads((out / "metrics.json").read_text())["adaptation"]["method"] == "adabn"
    # a second adapt into the finished run needs --overwrite
    assert main(["adapt", str(source), "--target", str(shifted_colours), "--out", str(out)]) == 2


def test_adapt_refuses_a_missing_target_and_its_own_run(colour_run, tmp_path, capsys):
    from transferkit.common.cli.parser import main

    source = str(colour_run.result.run_dir)
    assert main(["adapt", source, "--target", str(tmp_path / "nope"), "--out",
                 str(tmp_path / "x")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert main(["adapt", source, "--target", source, "--out", source]) == 2
    assert "RUN itself" in capsys.readouterr().err


def test_adapt_with_coral_changes_only_the_head_and_reloads(colour_run, shifted_colours,
                                                            tmp_path):
    from transferkit.common.cli.parser import main
    from transferkit.common.output.rundir import load

    out = tmp_path / "coral"
    assert main(["adapt", str(colour_run.result.run_dir), "--target", str(shifted_colours),
                 "--method", "coral", "--out", str(out)]) == 0
    info = json.loads((out / "adaptation.json").read_text())
    assert info["method"] == "coral" and info["source_items"] > 0
    assert info["changed_variables"] and all(f"{info['folded_into']}/" in n
                                             for n in info["changed_variables"])
    from PIL import Image

    items = sorted(str(p) for p in shifted_colours.rglob("*.png"))[:6]
    pixels = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in items])
    adapted = load(out)  # the rebuilt Keras model (run architecture) agrees with the export
    keras_out = adapted.calibrated_model().predict(pixels.astype(np.float32), verbose=0)
    np.testing.assert_allclose(adapted.predict(items), keras_out, atol=1e-4)
    assert "CORAL map" in (out / "report.html").read_text()
