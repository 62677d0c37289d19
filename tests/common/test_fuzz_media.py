"""Fuzzing the image and audio loaders (hypothesis): no file stops a run mid-way.

The property, for random bytes, mutated PNG/JPEG/WAV bytes and random float arrays:

* the checks (``check_image``, ``check_audio``) never raise; they return a reason;
* a file they pass decodes where training and prediction decode it (TF's ``decode_image``
  for images; ``load_audio`` for audio, finite samples);
* ``load_audio`` raises nothing but :class:`AudioDecodeError` (which the readers list).
"""
import io
import os
import struct
import zlib

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from tests.common.media_corpus import SR, jpeg_bytes, png_bytes, tone  # noqa: E402
from transferkit.common.model.contracts import ImageContract  # noqa: E402
from transferkit.speech.audio_io import AudioDecodeError, check_audio, load_audio  # noqa: E402
from transferkit.vision.data import check_image, load_image  # noqa: E402

FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 300)), deadline=None,
                derandomize=not os.environ.get("FUZZ_EXAMPLES"), database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
_RNG = np.random.default_rng(0)
_IMAGE = _RNG.integers(0, 255, (16, 16, 3), dtype=np.uint8)
SEEDS = {".png": png_bytes(_IMAGE), ".jpg": jpeg_bytes(_IMAGE),
         ".gif": None, ".bmp": None}


def _seed_bytes(suffix: str) -> bytes:
    from PIL import Image

    if SEEDS[suffix] is None:
        buf = io.BytesIO()
        Image.fromarray(_IMAGE).save(buf, format={"gif": "GIF", "bmp": "BMP"}[suffix[1:]])
        SEEDS[suffix] = buf.getvalue()
    return SEEDS[suffix]


def _wav_bytes() -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, tone(440.0, 0.05), SR, format="WAV", subtype="PCM_16")
    return buf.getvalue()


WAV = _wav_bytes()
mutations = st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8)


def _mutate(data: bytes, edits, cut) -> bytes:
    out = bytearray(data)
    for at, value in edits:
        out[at % len(out)] = value
    return bytes(out[:cut]) if cut is not None else bytes(out)


def _image_case(tmp_path, data: bytes, suffix: str):
    from transferkit.common.keras import tf

    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    reason = check_image(path)
    assert isinstance(reason, str)
    if not reason:  # passed: training's and serving's decoder must take it
        image = load_image(tf.constant(str(path)), ImageContract(size=8, scaling="unit"))
        assert image.shape == (8, 8, 3)


def _audio_case(tmp_path, data: bytes, suffix: str = ".wav"):
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    reason = check_audio(path)
    assert isinstance(reason, str)
    try:
        wave = load_audio(path, SR)
    except AudioDecodeError:
        assert reason, "check_audio passed a file that load_audio cannot decode"
        return
    assert np.all(np.isfinite(wave)) and wave.size


@FUZZ
@given(data=st.binary(max_size=512), suffix=st.sampled_from(sorted(SEEDS)))
def test_random_bytes_as_images(tmp_path, data, suffix):
    _image_case(tmp_path, data, suffix)


@FUZZ
@given(suffix=st.sampled_from(sorted(SEEDS)), edits=mutations,
       cut=st.one_of(st.none(), st.integers(0, 2000)))
def test_mutated_images(tmp_path, suffix, edits, cut):
    _image_case(tmp_path, _mutate(_seed_bytes(suffix), edits, cut), suffix)


def _fix_png_crcs(data: bytes) -> bytes:
    """Every chunk's CRC recomputed, so a mutation reaches the decoder, not the CRC check."""
    out, at = bytearray(data[:8]), 8
    while at + 8 <= len(data):
        size = struct.unpack(">I", data[at:at + 4])[0]
        body = data[at + 4:at + 8 + size]
        if at + 12 + size > len(data):
            out += data[at:]
            break
        out += data[at:at + 8 + size] + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
        at += 12 + size
    return bytes(out)


@FUZZ
@given(edits=st.lists(st.tuples(st.integers(8, len(SEEDS[".png"]) - 1), st.integers(0, 255)),
                      min_size=1, max_size=4))
def test_mutated_png_with_valid_crcs(tmp_path, edits):
    _image_case(tmp_path, _fix_png_crcs(_mutate(SEEDS[".png"], edits, None)), ".png")


@FUZZ
@given(data=st.binary(max_size=512), suffix=st.sampled_from([".wav", ".flac", ".ogg", ".mp3"]))
def test_random_bytes_as_audio(tmp_path, data, suffix):
    _audio_case(tmp_path, data, suffix)


@FUZZ
@given(edits=st.lists(st.tuples(st.integers(0, 43), st.integers(0, 255)), max_size=6),
       rate=st.one_of(st.none(), st.integers(0, 2**32 - 1)),
       channels=st.one_of(st.none(), st.integers(0, 2**16 - 1)),
       cut=st.one_of(st.none(), st.integers(0, len(WAV))))
def test_mutated_wav_headers(tmp_path, edits, rate, channels, cut):
    data = bytearray(_mutate(WAV, edits, None))
    if rate is not None:
        data[24:28] = struct.pack("<I", rate)
    if channels is not None:
        data[22:24] = struct.pack("<H", channels)
    _audio_case(tmp_path, bytes(data)[:cut])


@FUZZ
@given(values=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=0,
                       max_size=400),
       rate=st.sampled_from([8000, 16000, 22050, 44100]), subtype=st.sampled_from(
           ["FLOAT", "DOUBLE", "PCM_16"]), fmt=st.sampled_from(["WAV", "FLAC"]))
def test_random_float_arrays(tmp_path, values, rate, subtype, fmt):
    import soundfile as sf

    wave = np.asarray(values, np.float32)
    if fmt == "FLAC" or subtype == "PCM_16":  # integers: libsndfile refuses NaN there
        subtype, wave = "PCM_16", np.nan_to_num(wave, posinf=1.0, neginf=-1.0)
    buf = io.BytesIO()
    sf.write(buf, wave, rate, format=fmt, subtype=subtype)
    _audio_case(tmp_path, buf.getvalue(), "." + fmt.lower())
