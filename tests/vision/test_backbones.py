"""Every registered vision backbone, random weights, small size: the standard checks."""
import numpy as np
import pytest

from transferkit.common.model.registry import create_backbone, get_backbone_spec, list_backbones
from transferkit.common.testing import check_backbone

# Smallest sizes each architecture accepts, to keep the suite fast.
SIZES = {"inception_v3": 75}
NEEDS_A_MODEL = {"hub_image", "own_model"}  # tested in their own files
APPLICATIONS = [n for n in list_backbones("vision") if n not in NEEDS_A_MODEL]


def test_all_seed_families_registered():
    assert {"mobilenet_v1", "mobilenet_v2", "vgg16", "resnet50", "inception_v3",
            "efficientnet_b0", "hub_image", "own_model"} <= set(list_backbones("vision"))


@pytest.mark.parametrize("name", APPLICATIONS)
def test_backbone_build_fit_save_reload(name):
    size = SIZES.get(name, 32)
    x = np.random.default_rng(0).uniform(0, 255, (4, size, size, 3)).astype("float32")
    result = check_backbone(lambda: create_backbone(name, weights=None, size=size), x)
    assert len(result["feature_shape"]) == 1 and result["feature_shape"][0] > 0
    assert get_backbone_spec(name).contract.scaling in {"tf", "caffe", "none"}


def test_flatten_pooling_gives_flat_map():
    backbone = create_backbone("vgg16", weights=None, size=64, pooling="flatten")
    assert backbone.output_shape == (2 * 2 * 512,)


@pytest.mark.offline_error_path
def test_offline_imagenet_gives_clear_error(tmp_path, monkeypatch):
    """The real download path, blocked by the network guard, ends in the toolkit's error."""
    from transferkit.common.model.weights import WeightsUnavailableError

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # an empty Keras cache: must download
    with pytest.raises(WeightsUnavailableError,
                       match=r"no pretrained weights for backbone 'mobilenet_v2'") as info:
        create_backbone("mobilenet_v2", weights="imagenet", size=96)
    message = str(info.value)
    assert "mobilenet_v2" in message and "imagenet" in message and "--weights" in message
    assert f"Keras' download into {tmp_path / 'models'}" in message


def test_imagenet_download_goes_under_keras_home(tmp_path, monkeypatch,
                                                 keras_download_offline):
    """tf_keras applications ignore KERAS_HOME; the toolkit passes it as cache_dir."""
    from transferkit.common.model.weights import WeightsUnavailableError

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    with pytest.raises(WeightsUnavailableError, match="URL fetch failure on https://"):
        create_backbone("mobilenet_v2", weights="imagenet", size=96)
    assert keras_download_offline, "the application never asked for its weights file"
    call = keras_download_offline[-1]
    assert call["cache_dir"] == str(tmp_path / "keras_home")
    assert call["cache_subdir"] == "models" and "no_top" in call["fname"]
    from tf_keras.src.utils import data_utils
    assert data_utils.get_file is not None and "offline_get_file" in data_utils.get_file.__name__


def test_missing_local_weights_file_is_named(tmp_path):
    from transferkit.common.model.weights import WeightsUnavailableError

    with pytest.raises(WeightsUnavailableError, match="nope.h5"):
        create_backbone("mobilenet_v2", weights=str(tmp_path / "nope.h5"), size=32)


def test_local_weights_file_loads(tmp_path):
    a = create_backbone("mobilenet_v2", weights=None, size=32).model
    a.layers[2].save_weights(str(tmp_path / "base.h5"))  # the application, without top
    b = create_backbone("mobilenet_v2", weights=str(tmp_path / "base.h5"), size=32).model
    x = np.random.default_rng(1).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(a(x).numpy(), b(x).numpy(), atol=1e-5)
