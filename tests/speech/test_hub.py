"""The TF-Hub path on locally written SavedModels with YAMNet's and TRILL's signatures."""
import numpy as np
import pytest

from transferkit.common.model.registry import create_backbone
from transferkit.common.testing import check_backbone
from transferkit.common.model.weights import WeightsUnavailableError


@pytest.mark.parametrize("name,seconds", [("hub_yamnet", 0.96), ("hub_trill", 1.0)])
def test_hub_embedder(hub_dirs, name, seconds):
    handle = str(hub_dirs[name.removeprefix("hub_")])
    waves = (np.random.default_rng(0).normal(size=(3, int(16000 * seconds))) * 0.1
             ).astype("float32")
    result = check_backbone(lambda: create_backbone(name, weights=handle), waves)
    assert result["feature_shape"] == (16,)


def test_yamnet_style_averages_frame_embeddings(hub_dirs, tf_keras):
    from transferkit.common.keras import tf

    wave = (np.random.default_rng(1).normal(size=15360) * 0.1).astype("float32")
    _, frames, _ = tf.saved_model.load(str(hub_dirs["yamnet"]))(tf.constant(wave))
    backbone = create_backbone("hub_yamnet", weights=str(hub_dirs["yamnet"])).model
    np.testing.assert_allclose(backbone(wave[None]).numpy()[0],
                               frames.numpy().mean(axis=0), atol=1e-5)


@pytest.mark.offline_error_path
def test_offline_handle_is_a_clear_error(tmp_path, monkeypatch):
    # An empty TF-Hub cache + the network guard: the default handle can't be fetched here.
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "empty_cache"))
    with pytest.raises(WeightsUnavailableError,
                       match=r"(?s)backbone 'hub_yamnet'.*TF-Hub handle .*local directory"):
        create_backbone("hub_yamnet")
    with pytest.raises(WeightsUnavailableError, match="does not exist"):
        create_backbone("hub_trill", weights="/nonexistent/trill")
