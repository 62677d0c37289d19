"""Every registered speech backbone: random init, feature shape, fit, save/reload, export."""
import numpy as np
import pytest

from transferkit.common.model.registry import create_backbone, get_backbone_spec, list_backbones
from transferkit.common.testing import check_backbone

HUB = {"hub_yamnet", "hub_trill"}  # need a SavedModel; covered in test_hub.py
DIMS = {"kws_mobilenetv2": 384, "kws_frontend": 59 * 49, "logmel_cnn": 64, "crepe_tiny": 256}
SMALL = {"logmel_cnn": {"widths": "8,16,32,64"}}


def _waves(name, batch=2):
    samples = get_backbone_spec(name).contract.clip_samples
    rng = np.random.default_rng(0)
    return (rng.normal(size=(batch, samples)) * 0.1).astype("float32")


def test_all_speech_backbones_are_covered():
    assert set(list_backbones("speech")) == set(DIMS) | HUB


@pytest.mark.parametrize("name", sorted(DIMS))
def test_backbone_random_init(name):
    result = check_backbone(lambda: create_backbone(name, weights=None, **SMALL.get(name, {})),
                            _waves(name))
    assert result["feature_shape"] == (DIMS[name],)


def test_logmel_cnn_reuses_its_own_weights(tmp_path, tf_keras):
    first = create_backbone("logmel_cnn", weights=None).model
    head = tf_keras.layers.Dense(3, name="my_head")(first.output)
    joined = tf_keras.Model(first.input, head)  # as a trained run would save it
    joined.save_weights(str(tmp_path / "model_weights.h5"), save_format="h5")
    again = create_backbone("logmel_cnn", weights=str(tmp_path)).model  # a run directory
    x = _waves("logmel_cnn")
    np.testing.assert_allclose(again(x).numpy(), first(x).numpy(), atol=1e-5)


def test_kws_contract_is_enforced():
    with pytest.raises(ValueError, match="19200 samples"):
        create_backbone("kws_mobilenetv2", weights=None, clip_seconds=1.0)


def test_missing_weights_say_how_to_fetch(monkeypatch, tmp_path):
    from transferkit.common.model.weights import WeightsUnavailableError

    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path))
    with pytest.raises(WeightsUnavailableError, match="transferkit weights fetch kws_mobilenetv2"):
        create_backbone("kws_mobilenetv2")
    with pytest.raises(WeightsUnavailableError, match="transferkit weights fetch crepe_tiny"):
        create_backbone("crepe_tiny")
