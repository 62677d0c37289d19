"""Decoding, resampling and every listed oddity; the tf.data pipeline and features."""
import numpy as np
import pytest

from transferkit.common.model.contracts import AudioContract
from transferkit.common.data.domain import PipelineOptions, ReadOptions
from transferkit.speech.audio_io import (AudioDecodeError, check_audio, fix_length,
                                         frame_windows, load_audio)
from transferkit.speech.data import read_audio_source
from transferkit.speech.pipeline import make_audio_dataset, predict_clips

GOOD = ["tone_16k.wav", "tone_8k.wav", "tone_48k.flac", "stereo_44k.wav", "tone.ogg",
        "silent.wav"]
BAD = {"truncated.wav": "", "audio_named.txt": "extension", "text_named.wav": "undecodable",
       "empty.wav": ""}


@pytest.mark.parametrize("name", GOOD)
def test_decodes_to_mono_16k(audio_dir, name):
    wave = load_audio(audio_dir / name, 16000)
    assert wave.ndim == 1 and wave.dtype == np.float32
    assert abs(len(wave) - 16000) <= 16  # 1 s at any source rate, resampled
    if name != "silent.wav":  # a 440 Hz tone survives decoding and resampling
        spectrum = np.abs(np.fft.rfft(wave))
        assert abs(np.argmax(spectrum) * 16000 / len(wave) - 440) < 3


def test_stereo_is_averaged(audio_dir):
    wave = load_audio(audio_dir / "stereo_44k.wav", 16000)
    assert 0.11 < np.max(np.abs(wave)) < 0.14  # (0.5x - 0.25x) / 2 = 0.125x


def test_mp3(audio_dir):
    path = audio_dir / "tone.mp3"
    if not path.exists():
        pytest.skip("libsndfile here has no MP3 encoder, so no test MP3 could be written")
    wave = load_audio(path, 16000)
    assert abs(len(wave) - 16000) < 2000  # MP3 adds encoder padding
    assert check_audio(path) == ""


@pytest.mark.parametrize("name,why", sorted(BAD.items()))
def test_bad_files_are_reasons_not_crashes(audio_dir, name, why):
    reason = check_audio(audio_dir / name)
    assert reason and why in reason


def test_truncated_data_decodes_what_is_there(audio_dir):
    # A WAV whose data is cut short still decodes (libsndfile reads the samples present);
    # a FLAC cut short is either read up to the cut or reported, never a crash.
    assert check_audio(audio_dir / "truncated_half.wav") == ""
    assert 0 < len(load_audio(audio_dir / "truncated_half.wav", 16000)) < 16000
    reason = check_audio(audio_dir / "truncated.flac")
    if not reason:
        assert len(load_audio(audio_dir / "truncated.flac", 16000)) > 0


def test_load_audio_names_the_file(audio_dir):
    with pytest.raises(AudioDecodeError, match="text_named.wav"):
        load_audio(audio_dir / "text_named.wav", 16000)


def test_read_source_lists_skips(audio_dir):
    examples = read_audio_source(audio_dir.parent)  # one class folder: "sounds"
    skipped = dict(examples.skipped)
    for name in BAD:
        assert str(audio_dir / name) in skipped
    assert {p.rsplit("/", 1)[-1] for p in examples.items} >= set(GOOD)


def test_read_csv_with_groups(tmp_path, audio_dir):
    (tmp_path / "index.csv").write_text(
        "path,label,voice\n"
        f"{audio_dir / 'tone_16k.wav'},a,v1\n{audio_dir / 'tone_8k.wav'},b,v2\n"
        f"{audio_dir / 'empty.wav'},b,v2\n")
    with pytest.raises(ValueError, match=r"index\.csv:2: path .* is outside the CSV's folder"):
        read_audio_source(tmp_path / "index.csv", ReadOptions())
    examples = read_audio_source(tmp_path / "index.csv", ReadOptions(allow_outside_paths=True))
    assert examples.labels == ("a", "b") and examples.groups == ("v1", "v2")
    assert len(examples.skipped) == 1


def test_fix_length_and_frames():
    assert fix_length(np.arange(10, dtype=np.float32), 4).tolist() == [3, 4, 5, 6]
    windows = frame_windows(np.arange(25, dtype=np.float32), 10)
    assert windows.shape == (4, 10) and windows[-1, -1] == 24


def test_dataset_shapes_and_augment(audio_dir):
    contract = AudioContract(sample_rate=16000, clip_seconds=0.5)
    items = [str(audio_dir / n) for n in GOOD]
    ds = make_audio_dataset(items, np.arange(len(items)), contract,
                            PipelineOptions(batch_size=4, training=True, augment=True))
    waves, targets = next(iter(ds))
    assert waves.shape == (4, 8000) and targets.shape == (4,)
    assert np.all(np.isfinite(waves.numpy()))
    plain = next(iter(make_audio_dataset(items, None, contract, PipelineOptions(batch_size=8))))
    assert plain.shape == (len(items), 8000)


@pytest.mark.parametrize("kind,last", [("logmel", 40), ("mfcc", 13)])
def test_features_at_the_pipeline_edge(audio_dir, kind, last):
    contract = AudioContract(sample_rate=16000, clip_seconds=1.0, n_mels=40, features=kind)
    # A silent clip is valid input (silence is a class in keyword spotting): finite features.
    files = [str(audio_dir / name) for name in ("tone_16k.wav", "silent.wav", "tone_8k.wav")]
    ds = make_audio_dataset(files, None, contract, PipelineOptions(batch_size=3))
    feats = next(iter(ds)).numpy()
    assert feats.shape == (3, 1 + (16000 - 400) // 160, last)
    assert np.all(np.isfinite(feats))
    assert feats[1].std(axis=0).max() < 1e-3  # silence gives the same frame throughout


def test_predict_frames_long_clips(audio_dir, tf_keras):
    contract = AudioContract(sample_rate=16000, clip_seconds=1.0)
    wave = tf_keras.Input((16000,))
    energy = tf_keras.layers.Lambda(lambda w: tf_keras.backend.mean(w ** 2, axis=1,
                                                                    keepdims=True))(wave)
    model = tf_keras.Model(wave, energy)
    out = predict_clips(model, [str(audio_dir / "long_3s.wav"), str(audio_dir / "silent.wav")],
                        contract)
    assert out.shape == (2, 1)
    assert out[0, 0] == pytest.approx(0.125, rel=0.05) and out[1, 0] == 0.0


def test_streamed_path_matches_in_memory(audio_dir, monkeypatch):
    """Sets above the memory limit decode in a parallel numpy_function map instead."""
    from transferkit.speech import pipeline

    contract = AudioContract(sample_rate=16000, clip_seconds=0.5)
    items = [str(audio_dir / n) for n in GOOD]
    in_memory = next(iter(make_audio_dataset(items, None, contract, PipelineOptions(8))))
    monkeypatch.setattr(pipeline, "MEMORY_LIMIT_BYTES", 0)
    streamed = next(iter(make_audio_dataset(items, None, contract, PipelineOptions(8))))
    np.testing.assert_allclose(streamed.numpy(), in_memory.numpy(), atol=1e-6)


def test_gathered_frames_match_tf_signal_stft():
    # The TFLite-friendly STFT (gathered frames + rfft) is tf.signal.stft's |STFT|, for a
    # static clip length and inside a function that only knows the length at run time.
    import tensorflow as tf

    from transferkit.speech.features import _stft_magnitude

    waves = np.random.default_rng(0).normal(size=(2, 16000)).astype(np.float32)
    want = tf.abs(tf.signal.stft(waves, 400, 160, 512)).numpy()
    np.testing.assert_allclose(_stft_magnitude(tf.constant(waves), 400, 160, 512).numpy(),
                               want, atol=1e-3, rtol=1e-4)
    dynamic = tf.function(lambda w: _stft_magnitude(w, 400, 160, 512),
                          input_signature=[tf.TensorSpec([None, None], tf.float32)])
    np.testing.assert_allclose(dynamic(waves).numpy(), want, atol=1e-3, rtol=1e-4)


@pytest.mark.parametrize("name", GOOD)
def test_load_audio_equals_librosa(audio_dir, name):
    """soundfile + soxr called directly give ``librosa.load``'s samples, length included."""
    librosa = pytest.importorskip("librosa")
    want, _ = librosa.load(str(audio_dir / name), sr=16000)
    got = load_audio(audio_dir / name, 16000)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-6)


def _clips_at(root, rate: int, n: int, seed: int):
    """``n`` noisy chirps of different lengths that start mid-waveform, as speech does."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        t = np.arange(int(rate * rng.uniform(0.3, 1.2))) / rate
        wave = 0.3 * np.sin(2 * np.pi * (200 + 300 * t) * t + rng.uniform(0, 6.28))
        wave += 0.05 * rng.normal(size=len(t))
        path = root / f"clip_{rate}_{i}.wav"
        sf.write(path, wave.astype(np.float32), rate, subtype="PCM_16")
        paths.append(path)
    return paths


def test_load_audios_matches_one_by_one(tmp_path, audio_dir):
    """One soxr call per rate: every clip as load_audio gives it, but soxr's one-shot start."""
    from transferkit.speech.audio_io import load_audios

    paths = (_clips_at(tmp_path, 22050, 5, 0) + [audio_dir / "tone_16k.wav"]
             + _clips_at(tmp_path, 44100, 3, 1) + _clips_at(tmp_path, 8000, 3, 2)
             + [audio_dir / "stereo_44k.wav"] + _clips_at(tmp_path, 48000, 2, 3))
    batched = load_audios(paths, 16000)
    for path, got in zip(paths, batched, strict=True):
        want = load_audio(path, 16000)
        assert got.shape == want.shape and got.dtype == np.float32, path
        np.testing.assert_allclose(got[2:], want[2:], atol=1e-5, err_msg=str(path))
        np.testing.assert_allclose(got[:2], want[:2], atol=0.05 * np.abs(want).max(),
                                   err_msg=str(path))


def test_load_audios_and_decode_clips_name_the_bad_file(tmp_path, audio_dir):
    from transferkit.speech.audio_io import load_audios
    from transferkit.speech.pipeline import decode_clips

    paths = _clips_at(tmp_path, 22050, 3, 0) + [audio_dir / "text_named.wav"]
    with pytest.raises(AudioDecodeError, match="text_named.wav"):
        load_audios(paths, 16000)
    with pytest.raises(AudioDecodeError, match="empty.wav"):
        decode_clips([str(p) for p in paths[:3]] + [str(audio_dir / "empty.wav")],
                     AudioContract(sample_rate=16000, clip_seconds=1.0))


def test_pcm16_fast_read_gives_libsndfile_floats(tmp_path):
    import soundfile as sf

    from transferkit.speech.audio_io import _read_mono

    (path,) = _clips_at(tmp_path, 16000, 1, 4)
    wave, rate = _read_mono(path)
    want, want_rate = sf.read(path, dtype="float32")
    assert rate == want_rate and np.array_equal(wave, want)
