"""Audio decoding: any rate, any channel count, to float32 mono at the contract's rate.

Decoding goes through librosa (libsndfile for wav/flac/ogg/mp3, soxr for resampling).
Files are checked once, when a source is read, so a bad file is listed in
``Examples.skipped`` with its reason instead of crashing an epoch later.

Example:
    >>> wave = load_audio("clip.flac", 16000)  # doctest: +SKIP
    >>> fix_length(wave, 16000).shape  # doctest: +SKIP
    (16000,)
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".aiff", ".aif")
RESAMPLER = "soxr_hq"  # librosa's default; named so a change is deliberate


class AudioDecodeError(ValueError):
    """A file could not be decoded as audio; the message names the file and the cause."""


def load_audio(path, sample_rate: int) -> np.ndarray:
    """Decode ``path`` to float32 mono at ``sample_rate`` (channels are averaged).

    Raises:
        AudioDecodeError: naming the file, when it is missing, empty or undecodable.

    Example:
        >>> load_audio("stereo_48k.wav", 16000).dtype  # doctest: +SKIP
        dtype('float32')
    """
    import librosa

    try:
        wave, _ = librosa.load(str(path), sr=sample_rate, mono=True, res_type=RESAMPLER)
    except Exception as exc:  # noqa: BLE001 - soundfile/audioread raise many types
        raise AudioDecodeError(f"{path}: cannot decode audio "
                               f"({type(exc).__name__}: {str(exc)[:160]})") from exc
    if wave.size == 0:
        raise AudioDecodeError(f"{path}: no audio samples")
    if not np.all(np.isfinite(wave)):
        raise AudioDecodeError(f"{path}: non-finite samples")
    return wave.astype(np.float32, copy=False)


def check_audio(path) -> str:
    """Why ``path`` can't be used as audio, or ``""`` when it can.

    Reads the header and the last frames, which catches missing, empty, non-audio,
    wrongly named and truncated files without decoding the whole file.
    """
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        return "file not found"
    if path.suffix.lower() not in AUDIO_EXTENSIONS:
        return f"not an audio extension ({path.suffix or 'none'})"
    try:
        info = sf.info(str(path))
        if info.frames <= 0:
            return "no audio samples"
        with sf.SoundFile(str(path)) as fh:
            fh.seek(max(0, info.frames - 16))
            tail = fh.read(16, dtype="float32")
        if len(tail) == 0:
            return "truncated (header promises more samples than the file holds)"
    except Exception as exc:  # noqa: BLE001
        return f"undecodable ({type(exc).__name__}: {str(exc)[:120]})"
    return ""


def fix_length(wave: np.ndarray, length: int) -> np.ndarray:
    """Centre-pad with zeros or centre-crop to ``length`` samples.

    Centring keeps a short spoken word in the middle of the window, where keyword
    models saw it in training.

    Example:
        >>> fix_length(np.ones(3, np.float32), 5).tolist()
        [0.0, 1.0, 1.0, 1.0, 0.0]
    """
    n = len(wave)
    if n == length:
        return wave
    if n > length:
        start = (n - length) // 2
        return wave[start:start + length]
    left = (length - n) // 2
    return np.pad(wave, (left, length - n - left))


def frame_windows(wave: np.ndarray, length: int, hop: int | None = None) -> np.ndarray:
    """Split a clip into windows ``[n, length]``; a clip no longer than one window is one.

    The last window is aligned to the clip's end, so no audio is dropped.

    Example:
        >>> frame_windows(np.arange(10, dtype=np.float32), 4, 4)[:, 0].tolist()
        [0.0, 4.0, 6.0]
    """
    hop = hop or max(1, length // 2)
    if len(wave) <= length:
        return fix_length(wave, length)[None]
    starts = list(range(0, len(wave) - length + 1, hop))
    if starts[-1] != len(wave) - length:
        starts.append(len(wave) - length)
    return np.stack([wave[s:s + length] for s in starts])
