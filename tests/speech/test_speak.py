"""espeak-ng/Festival word synthesis, voice-grouped index, voice-disjoint splits, CLI verb."""
import pytest

from transferkit.common.data.splits import split_examples
from transferkit.speech.data import read_audio_source
from transferkit.speech.speak import Voice, default_voices, festival_voices, speak_dataset


def test_default_voices_are_distinct_and_stable():
    voices = default_voices(100)
    assert len({v.name for v in voices}) == 100
    assert default_voices(10) == voices[:10]  # a prefix: growing the set keeps old voices


def test_speak_dataset_and_voice_split(espeak, tmp_path):
    index = speak_dataset(["yes", "no"], tmp_path / "yn", default_voices(6))
    examples = read_audio_source(index)
    assert len(examples) == 12 and not examples.skipped
    assert len(set(examples.groups)) == 6
    splits = split_examples(examples, validation=0.2, test=0.3, seed=0)
    train_voices, test_voices = set(splits.train.groups), set(splits.test.groups)
    assert train_voices and test_voices and not train_voices & test_voices


def test_bad_voice_is_a_clear_error(espeak, tmp_path):
    # espeak-ng itself falls back to its default voice; the dataset maker refuses.
    with pytest.raises(ValueError, match="no-such-accent"):
        speak_dataset(["yes"], tmp_path, [Voice("no-such-accent", "m1")])


def test_all_default_voices_exist(espeak):
    from transferkit.speech.speak import check_voice

    for voice in default_voices(len(default_voices(1000))):
        check_voice(voice)


def test_festival(festival, tmp_path):
    examples = read_audio_source(speak_dataset(["one"], tmp_path, festival_voices((160,))))
    assert len(examples) == 1 and examples.groups[0].startswith("festival")


def test_cli_speak(espeak, tmp_path, capsys):
    from transferkit.common.cli.parser import main

    assert main(["data", "speak", "--words", "up", "go", "--voices", "2",
                 "--out", str(tmp_path / "w")]) == 0
    assert "2 words x 2 voices" in capsys.readouterr().out
    assert (tmp_path / "w" / "index.csv").read_text().count("\n") == 5


def test_clips_of_another_synthesiser_version_are_remade(espeak, tmp_path):
    from transferkit.speech.speak import SYNTH_STAMP, synthesiser_versions

    voices = default_voices(1)
    out = tmp_path / "w"
    speak_dataset(["go"], out, voices)
    clip = next(out.glob("go/*.wav"))
    assert (out / SYNTH_STAMP).read_text() == synthesiser_versions(voices)
    assert "espeak-ng: eSpeak NG" in synthesiser_versions(voices)
    clip.write_bytes(b"stale")  # stands in for a clip an older espeak-ng made
    speak_dataset(["go"], out, voices)
    assert clip.read_bytes() == b"stale"  # same version: reused
    (out / SYNTH_STAMP).write_text("espeak-ng: eSpeak NG text-to-speech: 1.49\n")
    speak_dataset(["go"], out, voices)
    assert clip.read_bytes()[:4] == b"RIFF"  # another version: synthesised again
    assert (out / SYNTH_STAMP).read_text() == synthesiser_versions(voices)
