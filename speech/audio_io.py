"""Audio decoding: any rate, any channel count, to float32 mono at the contract's rate.

Decoding calls libsndfile (through soundfile: wav/flac/ogg/mp3/aiff) and soxr (HQ, as
``librosa.load`` does) directly. The result equals ``librosa.load(path, sr=rate)`` but
costs about 0.6x as much on short clips: librosa's own checks, its ``apply_along_axis``
round the resampler and libsndfile's float conversion of 16-bit PCM (read here as int16
and scaled, which gives the same floats) were a third of the time on 0.5 s espeak clips.
Files are checked once, when a source is read, so a bad file is listed in
``Examples.skipped`` with its reason instead of crashing an epoch later.

Example:
    >>> wave = load_audio("clip.flac", 16000)  # doctest: +SKIP
    >>> fix_length(wave, 16000).shape  # doctest: +SKIP
    (16000,)
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".aiff", ".aif")
RESAMPLER = "HQ"  # soxr quality; librosa's default ("soxr_hq"), named so a change is deliberate


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
    try:
        wave, rate = _read_mono(path)
        if rate != sample_rate and wave.size:
            wave = resample(wave, rate, sample_rate)
    except Exception as exc:  # noqa: BLE001 - libsndfile and soxr raise many types
        raise AudioDecodeError(f"{path}: cannot decode audio "
                               f"({type(exc).__name__}: {str(exc)[:160]})") from exc
    if wave.size == 0:
        raise AudioDecodeError(f"{path}: no audio samples")
    if not np.all(np.isfinite(wave)):
        raise AudioDecodeError(f"{path}: non-finite samples")
    return wave


def resample(wave: np.ndarray, rate: int, sample_rate: int) -> np.ndarray:
    """``wave`` (float32, 1-D) from ``rate`` to ``sample_rate`` with soxr, as librosa does:
    ``ceil(n * sample_rate / rate)`` samples (soxr rounds; librosa pads the one sample), so
    centring in :func:`fix_length` lands where it did with ``librosa.load``.

    Example:
        >>> resample(np.zeros(441, np.float32), 22050, 16000).shape
        (320,)
    """
    import soxr

    return _librosa_length(soxr.resample(wave, rate, sample_rate, quality=RESAMPLER),
                           len(wave), rate, sample_rate)


def _librosa_length(out: np.ndarray, n: int, rate: int, sample_rate: int) -> np.ndarray:
    kept = (2 * n * sample_rate + rate) // (2 * rate)  # soxr's own length: n * ratio, rounded
    size = math.ceil(n * sample_rate / rate)
    out = out[:min(kept, size)]
    return out if len(out) == size else np.pad(out, (0, size - len(out)))


def load_audios(paths, sample_rate: int) -> list[np.ndarray]:
    """:func:`load_audio` for many files, with one soxr call per source rate.

    Each soxr call designs its filter, which costs about 30% of resampling a 0.8 s clip.
    Here the clips of one rate are laid end to end, each starting on a whole period of the
    rate ratio and followed by zeros wider than half the filter, resampled once and cut
    apart again. Every sample equals ``load_audio``'s to 1e-6 except the first two of each
    clip, where soxr's one-shot start differs from a clip with silence before it: by up to
    2e-3 on espeak clips, by up to 5% of the peak on noise that starts at full level.

    Raises:
        AudioDecodeError: naming the first file that cannot be decoded.

    Example:
        >>> [w.shape for w in load_audios(["a_22k.wav", "b_16k.wav"], 16000)]  # doctest: +SKIP
        [(16000,), (8000,)]
    """
    waves, rates = read_audios(paths)
    return resample_audios(waves, rates, sample_rate)


def read_audios(paths) -> tuple[list[np.ndarray], list[int]]:
    """Each file decoded to float32 mono at its own rate, with the rates.

    Raises:
        AudioDecodeError: naming the first file that cannot be decoded.
    """
    waves, rates = [], []
    for path in paths:
        try:
            wave, rate = _read_mono(path)
        except Exception as exc:  # noqa: BLE001 - libsndfile raises many types
            raise AudioDecodeError(f"{path}: cannot decode audio "
                                   f"({type(exc).__name__}: {str(exc)[:160]})") from exc
        if wave.size == 0:
            raise AudioDecodeError(f"{path}: no audio samples")
        if not np.all(np.isfinite(wave)):  # before a shared soxr call: NaN would spread
            raise AudioDecodeError(f"{path}: non-finite samples")
        waves.append(wave)
        rates.append(rate)
    return waves, rates


def resample_audios(waves, rates, sample_rate: int) -> list[np.ndarray]:
    """``waves`` (at ``rates``) at ``sample_rate``, one soxr call per source rate."""
    waves = list(waves)
    for rate in set(rates) - {sample_rate}:
        picked = [i for i, r in enumerate(rates) if r == rate]
        for i, wave in zip(picked, _resample_together([waves[i] for i in picked], rate,
                                                       sample_rate)):
            waves[i] = wave
    return waves


_GAP = 640  # zeros after each clip, in input samples per output sample (when downsampling);
# wider than half of soxr HQ's filter (372 at 22.05 -> 16 kHz, 3,441 at 48 -> 8 kHz)
_MAX_PERIOD = 8192  # rate ratios with a longer period are resampled clip by clip


def _resample_together(waves, rate: int, sample_rate: int) -> list[np.ndarray]:
    import soxr

    g = math.gcd(rate, sample_rate)
    period, out_period = rate // g, sample_rate // g
    if len(waves) == 1 or period > _MAX_PERIOD:
        return [resample(w, rate, sample_rate) for w in waves]
    gap = math.ceil(_GAP * max(1.0, rate / sample_rate))  # filters widen when downsampling
    starts = np.cumsum([0] + [-(-(len(w) + gap) // period) * period for w in waves])
    joined = np.zeros(int(starts[-1]), np.float32)
    for start, wave in zip(starts, waves):
        joined[start:start + len(wave)] = wave
    out = soxr.resample(joined, rate, sample_rate, quality=RESAMPLER)
    return [_librosa_length(out[s // period * out_period:], len(w), rate, sample_rate).copy()
            for s, w in zip(starts, waves)]


def _read_mono(path) -> tuple[np.ndarray, int]:
    import soundfile as sf

    with sf.SoundFile(str(path)) as fh:
        if fh.subtype == "PCM_16":  # libsndfile's own float conversion is the slow part
            data = fh.read(dtype="int16", always_2d=True).astype(np.float32)
            data *= np.float32(1 / 32768)  # libsndfile's scale: the same float32 values
        else:
            data = fh.read(dtype="float32", always_2d=True)
        rate = fh.samplerate
    if not MIN_RATE <= rate <= MAX_RATE:
        raise ValueError(f"implausible sample rate {rate} Hz in the header")
    wave = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1, dtype=np.float32)
    return np.ascontiguousarray(wave), rate


def check_audio(path) -> str:
    """Why ``path`` can't be used as audio, or ``""`` when it can.

    Integer PCM (which holds no NaN and decodes sample by sample) is checked by its
    header and last frames, which catches missing, empty, non-audio, wrongly named and
    truncated files without decoding the whole file. Float and compressed files are
    decoded in full: a NaN/inf sample or a corrupt frame in the middle would otherwise
    stop a run at feature extraction.
    """
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        return "file not found"
    if path.suffix.lower() not in AUDIO_EXTENSIONS:
        return f"not an audio extension ({path.suffix or 'none'})"
    try:
        if path.stat().st_size == 0:
            return "empty file (0 bytes)"
        info = sf.info(str(path))
        if info.frames <= 0:
            return "no audio samples"
        if not MIN_RATE <= info.samplerate <= MAX_RATE or info.channels > MAX_CHANNELS:
            return (f"implausible header ({info.samplerate} Hz, {info.channels} channels; "
                    f"expected {MIN_RATE}-{MAX_RATE} Hz, at most {MAX_CHANNELS} channels)")
        return _check_samples(path, info)
    except Exception as exc:  # noqa: BLE001
        return f"undecodable ({type(exc).__name__}: {str(exc)[:120]})"


MIN_RATE, MAX_RATE = 1000, 768_000  # Hz: a header outside this is corrupt (and 1 Hz would
MAX_CHANNELS = 64                   # resample a short file to gigabytes)
MAX_PEAK = 1000.0  # float samples beyond this are corrupt data, not loud audio


def _check_samples(path: Path, info) -> str:
    import soundfile as sf

    with sf.SoundFile(str(path)) as fh:
        if fh.subtype.startswith(("PCM_", "ULAW", "ALAW")):  # integers: no NaN possible
            fh.seek(max(0, info.frames - 16))
            if len(fh.read(16, dtype="float32")) == 0:
                return "truncated (header promises more samples than the file holds)"
            return ""
        read = 0
        for block in fh.blocks(blocksize=1 << 16, dtype="float32", always_2d=True):
            bad = np.flatnonzero(~np.isfinite(block).all(axis=1))
            if bad.size:
                at = (read + bad[0]) / info.samplerate
                return f"non-finite samples (NaN or inf) from {at:.3f} s on"
            peak = float(np.max(np.abs(block)))
            if peak > MAX_PEAK:  # resampling such values overflows float32 to inf
                return f"implausible sample values (peak {peak:.3g}; audio is about -1..1)"
            read += len(block)
    return "" if read else "no audio samples"


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
