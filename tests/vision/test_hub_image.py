"""The TF-Hub image path on a locally written feature-vector SavedModel; offline handles."""
import numpy as np
import pytest

import transferkit
from transferkit.common.config import (BackboneConfig, DataConfig, HeadConfig, RunConfig,
                                       TrainConfig)
from transferkit.common.model.registry import create_backbone
from transferkit.common.testing import check_backbone
from transferkit.common.model.weights import WeightsUnavailableError

SIZE = 32


def test_hub_image_backbone_checks(hub_feature_vector):
    x = np.random.default_rng(0).uniform(0, 255, (4, SIZE, SIZE, 3)).astype("float32")
    result = check_backbone(
        lambda: create_backbone("hub_image", weights=str(hub_feature_vector), size=SIZE), x)
    assert result["feature_shape"] == (16,)


def test_hub_image_feeds_unit_scaled_pixels(hub_feature_vector):
    from transferkit.common.keras import tf

    x = np.random.default_rng(1).uniform(0, 255, (2, SIZE, SIZE, 3)).astype("float32")
    backbone = create_backbone("hub_image", weights=str(hub_feature_vector), size=SIZE).model
    direct = tf.saved_model.load(str(hub_feature_vector))(tf.constant(x / 255.0))
    np.testing.assert_allclose(backbone(x).numpy(), direct.numpy(), rtol=1e-5, atol=1e-5)


@pytest.fixture(scope="module")
def hub_run(hub_feature_vector, colour_dir, tmp_path_factory):
    config = RunConfig(
        backbone=BackboneConfig("hub_image", str(hub_feature_vector), {"size": SIZE}),
        head=HeadConfig(dropout=0.0),
        train=TrainConfig(epochs=40, learning_rate=3e-2, batch_size=16,
                          early_stopping_patience=0),
        data=DataConfig(train=str(colour_dir), validation_split=0.2, test_split=0.2))
    from transferkit.common.train.trainer import train_run

    return train_run(config, tmp_path_factory.mktemp("hub_run"), verbose=0)


def test_hub_run_learns_and_reloads(hub_run, colour_dir):
    assert hub_run.metrics["test"]["accuracy"] >= 0.9, hub_run.metrics["test"]
    run = transferkit.load(hub_run.run_dir)
    assert run.config.backbone.name == "hub_image" and run.contract.size == SIZE
    files = sorted(str(p) for p in colour_dir.glob("*/*.png"))
    labels = [p.split("/")[-2] for p in files]
    predicted = [label for label, _ in run.classify(files)]
    assert np.mean(np.array(predicted) == np.array(labels)) >= 0.9


def test_hub_run_reloads_without_the_hub_model(hub_run, tmp_path):
    """The exported SavedModel carries the hub weights: moving the run dir still predicts."""
    import shutil

    moved = shutil.copytree(hub_run.run_dir, tmp_path / "moved")
    x = np.random.default_rng(2).uniform(0, 255, (3, SIZE, SIZE, 3)).astype("float32")
    want = hub_run.model.predict(x, verbose=0)
    got = transferkit.load(moved).predictor.predict(x)
    np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("handle", [
    "https://tfhub.dev/google/imagenet/mobilenet_v2_100_224/feature_vector/5",
    "https://www.kaggle.com/models/google/mobilenet-v2/TensorFlow2/"
    "100-224-feature-vector/2"])
@pytest.mark.offline_error_path
def test_offline_handle_names_the_cache_and_a_local_path(handle, tmp_path, monkeypatch):
    """The real TF-Hub download, blocked by the network guard, ends in the toolkit's error."""
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "empty_cache"))
    with pytest.raises(WeightsUnavailableError,
                       match=r"no pretrained weights for backbone 'hub_image'") as info:
        create_backbone("hub_image", weights=handle, size=SIZE)
    message = str(info.value)
    assert handle in message
    assert "TFHUB_CACHE_DIR" in message and str(tmp_path / "empty_cache") in message
    assert "local directory" in message


def test_no_handle_and_missing_local_path_are_clear(tmp_path):
    with pytest.raises(WeightsUnavailableError, match="--weights HANDLE_OR_DIR"):
        create_backbone("hub_image", size=SIZE)
    for missing in (str(tmp_path / "no_such_model"), "relative/no_such_model"):
        with pytest.raises(WeightsUnavailableError) as info:
            create_backbone("hub_image", weights=missing, size=SIZE)
        assert f"local path {missing} (does not exist)" in str(info.value)
        assert "TFHUB_CACHE_DIR" not in str(info.value)  # not a download problem
