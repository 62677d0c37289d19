"""The speech recipes: audio-events on a local YAMNet-style model, spoken-words quick."""
import pytest

from transferkit.common.model.weights import WeightsUnavailableError
from transferkit.common.recipe_registry import get_recipe


def test_audio_events_with_a_local_hub_model(hub_dirs, tmp_path):
    figures = get_recipe("audio-events").run(tmp_path, quick=True,
                                             handle=str(hub_dirs["yamnet"]), epochs=5)
    assert 0.0 <= figures["test_accuracy"] <= 1.0


@pytest.mark.offline_error_path
def test_audio_events_offline_is_a_clear_error(tmp_path, monkeypatch):
    # The default YAMNet handle through an empty TF-Hub cache, blocked by the network guard.
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "empty_cache"))
    with pytest.raises(WeightsUnavailableError, match="--option handle=DIR"):
        get_recipe("audio-events").run(tmp_path, quick=True)


@pytest.mark.real_weights
@pytest.mark.slow
def test_spoken_words_quick(espeak, tmp_path):
    figures = get_recipe("spoken-words").run(tmp_path, quick=True)
    print(f"\n[real-weights] spoken-words --quick: {figures}")
    assert figures["frozen_test_accuracy"] > figures["random_init_test_accuracy"]
    assert figures["test_accuracy"] >= 0.7
