"""Benchmark 4: transferkit's parallel audio decoding against serial librosa.

Real speech, made here: digits spoken by espeak-ng voices (22,050 Hz 16-bit wav files, so
every clip is resampled to the keyword model's 16 kHz). The baseline is what a user writes
first: a loop of ``librosa.load(path, sr=16000)`` + centre pad/crop to 1 s.
transferkit's :func:`transferkit.speech.pipeline.decode_clips` decodes, resamples and pads
the same files in a thread pool, with libsndfile and soxr called directly and one soxr call
per chunk of files. Its serial form (``load_audios`` in one loop, no threads) separates the
work saved from the parallelism. ``decode_clips``' in-memory memo is cleared before each
of its runs, and the three alternate. Wall and process CPU seconds are both printed, and
each round also times a job that is
perfectly parallel (SHA-256 of two buffers, serial and in two GIL-free threads): its ratio
says how much of a second core the machine had free while the rounds ran.

Usage:
    python benchmarks/bench_audio_loading.py [--voices 60] [--repeats 5]
"""
from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, ratio_line, summary  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voices", type=int, default=60, help="clips = 10 digits x voices")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import librosa
    import numpy as np

    from transferkit.common.model.contracts import AudioContract
    from transferkit.speech import pipeline
    from transferkit.speech.audio_io import fix_length, load_audios
    from transferkit.speech.speak import DIGITS, default_voices, speak_dataset

    with tempfile.TemporaryDirectory(prefix="tk-bench-audio-") as tmp:
        index = speak_dataset(DIGITS, Path(tmp) / "digits", default_voices(args.voices, seed=0))
        paths = sorted(str(p) for p in index.parent.rglob("*.wav"))
        contract = AudioContract(sample_rate=16000, clip_seconds=1.0)
        threads = pipeline._threads()

        def serial():
            return np.stack([fix_length(librosa.load(p, sr=16000)[0], contract.clip_samples)
                             for p in paths])

        def transferkit_serial():
            return np.stack([fix_length(w, contract.clip_samples)
                             for i in range(0, len(paths), pipeline._CHUNK)
                             for w in load_audios(paths[i:i + pipeline._CHUNK], 16000)])

        def transferkit():
            pipeline._DECODED.clear()
            return pipeline.decode_clips(paths, contract)

        blobs = [bytes(range(256)) * (1 << 17)] * 2  # 2 x 32 MiB

        def sha_serial():
            return [hashlib.sha256(b).digest() for b in blobs]

        def sha_threads():
            with ThreadPoolExecutor(2) as pool:
                return list(pool.map(lambda b: hashlib.sha256(b).digest(), blobs))

        variants = {"serial librosa.load + pad": serial,
                    "transferkit serial (load_audios)": transferkit_serial,
                    f"transferkit decode_clips, {threads} thr": transferkit,
                    "machine check: sha256 x2 serial": sha_serial,
                    "machine check: sha256 x2 threads": sha_threads}
        outs = {name: fn() for name, fn in variants.items() if "sha" not in name}  # warm-up
        ref = outs["serial librosa.load + pad"]
        diffs = {name: np.abs(out - ref) for name, out in outs.items()}
        worst = max(float(d.max()) for d in diffs.values())
        off = max(float(np.mean(d > 1e-5)) for d in diffs.values())
        assert worst < 5e-3, f"decoders disagree by {worst}"
        wall = {name: [] for name in variants}
        cpu = {name: [] for name in variants}
        for _ in range(args.repeats):
            for name, fn in variants.items():
                t0, c0 = time.perf_counter(), time.process_time()
                fn()
                wall[name].append(time.perf_counter() - t0)
                cpu[name].append(time.process_time() - c0)

    fast = f"transferkit decode_clips, {threads} thr"
    print(f"# benchmark 4: audio loading, {len(paths)} espeak-ng clips (22,050 Hz -> 16 kHz, "
          f"1 s), {args.repeats} rounds, {machine()}")
    print(f"agreement with librosa: max |diff| {worst:.1e}; {100 * off:.3f}% of samples "
          f"differ by more than 1e-5 (the first two of each clip: soxr's one-shot start)")
    for name in list(variants)[:3]:
        print(summary(name, wall[name]) + f"   {len(paths) / statistics.median(wall[name]):6.0f}"
              f" clips/s   CPU {statistics.median(cpu[name]):6.3f} s")
    print(ratio_line("serial: transferkit vs librosa", wall["serial librosa.load + pad"],
                     wall["transferkit serial (load_audios)"]))
    print(ratio_line(f"decode_clips ({threads} thr) vs serial tk",
                     wall["transferkit serial (load_audios)"], wall[fast]))
    free = statistics.median(a / b for a, b in zip(wall["machine check: sha256 x2 serial"],
                                                    wall["machine check: sha256 x2 threads"]))
    print(f"machine check: two GIL-free threads ran {free:.2f}x a serial loop (2.0x on two "
          f"idle cores): " + ("other jobs shared the CPUs" if free < 1.8 else
                               "a second core was mostly free"))
    ratios = [b / c for b, c in zip(wall["serial librosa.load + pad"], wall[fast])]
    print(f"parallel decode_clips vs serial librosa: {statistics.median(ratios):.2f}x clips/s "
          f"(median of {args.repeats} pairs; goal >= 1.8x) on {machine()}")


if __name__ == "__main__":
    main()
