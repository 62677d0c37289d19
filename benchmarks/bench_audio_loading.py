"""Benchmark 4: parallel audio decoding against serial librosa.

Real speech, made here: digits spoken by espeak-ng voices (22,050 Hz wav files, so every clip
is resampled to the keyword model's 16 kHz). The baseline is what a user writes first: a
loop of ``librosa.load(path, sr=16000)`` + pad/crop. transferkit's
:func:`transferkit.speech.pipeline.decode_clips` decodes, resamples and pads the same
files in a thread pool (soundfile and soxr release the GIL). Its in-memory memo is cleared
before each of its runs, and the two alternate.

Usage:
    python benchmarks/bench_audio_loading.py [--voices 40] [--repeats 3]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, ratio_line, summary  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voices", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import librosa
    import numpy as np

    from transferkit.common.contracts import AudioContract
    from transferkit.speech import pipeline
    from transferkit.speech.audio_io import fix_length
    from transferkit.speech.speak import DIGITS, default_voices, speak_dataset

    tmp = Path(tempfile.mkdtemp(prefix="tk-bench-audio-"))
    index = speak_dataset(DIGITS, tmp / "digits", default_voices(args.voices, seed=0))
    paths = sorted(str(p) for p in index.parent.rglob("*.wav"))
    contract = AudioContract(sample_rate=16000, clip_seconds=1.0)

    def serial():
        return np.stack([fix_length(librosa.load(p, sr=16000)[0], contract.clip_samples)
                         for p in paths])

    def parallel():
        pipeline._DECODED.clear()
        return pipeline.decode_clips(paths, contract)

    assert np.allclose(serial(), parallel(), atol=1e-4), "the two decoders disagree"
    times = {"serial": [], "parallel": []}
    for _ in range(args.repeats):
        for name, fn in (("serial", serial), ("parallel", parallel)):
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    print(f"# benchmark 4: audio loading, {len(paths)} espeak-ng clips ({machine()})")
    print(summary("serial librosa.load + pad", times["serial"]))
    print(summary("transferkit decode_clips", times["parallel"]))
    print(f"clips/s: serial {len(paths) / statistics.median(times['serial']):.0f}, "
          f"parallel {len(paths) / statistics.median(times['parallel']):.0f}")
    print(ratio_line("parallel speed-up (goal >= 1.8x)", times["serial"], times["parallel"]))


if __name__ == "__main__":
    main()
