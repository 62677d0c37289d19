"""The speech recipes: audio-events on a local YAMNet-style model, spoken-words quick."""
import pytest

from transferkit.common.model.weights import WeightsUnavailableError
from transferkit.common.recipe_registry import get_recipe
from transferkit.common.testing import assert_beats_baseline


def test_audio_events_with_a_local_hub_model(hub_dirs, tmp_path):
    # The full-size synthetic set (40 clips per class, 24 test): --quick's 6 test clips
    # can't show learning (it scored the majority's 0.333 there).
    figures = get_recipe("audio-events").run(tmp_path, handle=str(hub_dirs["yamnet"]))
    majority = figures["test_majority_baseline"]
    assert_beats_baseline(figures["test_accuracy"], majority, 0.3, n=figures["test_n"],
                          chance=majority, what="audio-events accuracy vs majority")


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
    # README quick start: fine-tuned 0.927, frozen 0.847, random init 0.560 and the frontend
    # alone 0.807, on 150 clips from 15 unseen voices (majority 0.10).
    accuracy, n = figures["test_accuracy"], figures["test_n"]
    assert_beats_baseline(accuracy, figures["test_majority_baseline"], 0.6, n=n,
                          chance=figures["test_majority_baseline"], what="vs majority")
    assert_beats_baseline(accuracy, figures["random_init_test_accuracy"], 0.2,
                          what="pretrained vs random init")
    assert_beats_baseline(accuracy, figures["frontend_only_test_accuracy"], 0.02,
                          what="pretrained vs the frontend features alone")
    assert_beats_baseline(accuracy, figures["frozen_test_accuracy"], 0.02,
                          what="phase 2 (the defaults, 3 epochs) vs the frozen backbone")
