"""Benchmark 5: peak memory of a phase-1 run at 1x and 10x the data (disk embedding cache).

Each run is a fresh process (``transferkit train`` on a folder of synthetic PNGs, random-init
MobileNetV1 at 96 px, ``--embedding-cache disk``), and its peak resident set size is read
from the kernel's accounting of the finished child (``getrusage(RUSAGE_CHILDREN)`` taken
per run through ``os.wait4``). The sizes alternate, 1x then 10x, per repeat.

Usage:
    python benchmarks/bench_memory.py [--images 300] [--factor 10] [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, write_images  # noqa: E402


def peak_rss_mb(cmd: list[str]) -> float:
    """Peak RSS in MiB of ``cmd`` (a child process) as the kernel accounted it."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed")
    return usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--factor", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tk-bench-mem-"))
    tk = str(Path(sys.executable).with_name("transferkit"))
    sizes = {"1x": args.images, f"{args.factor}x": args.images * args.factor}
    data = {k: write_images(tmp / k, n, 96, classes=3) for k, n in sizes.items()}
    peaks = {k: [] for k in sizes}
    for i in range(args.repeats):
        for k in sizes:
            peaks[k].append(peak_rss_mb([
                tk, "train", "--data", str(data[k]), "--backbone", "mobilenet_v1", "--weights",
                "none", "--option", "size=96", "--embedding-cache", "disk",
                "--out", str(tmp / f"run-{k}-{i}")]))
    print(f"# benchmark 5: peak RSS at 1x and {args.factor}x data ({machine()})")
    for k, n in sizes.items():
        v = peaks[k]
        print(f"{k:>4} ({n:>6} images)  peak RSS median {statistics.median(v):8.1f} MiB   "
              f"min {min(v):8.1f}   max {max(v):8.1f}   (n={len(v)})")
    (k1, v1), (k10, v10) = peaks.items()
    slope = (statistics.median(v10) - statistics.median(v1)) * 1024 / (sizes[k10] - sizes[k1])
    print(f"growth: {slope:.1f} KiB of peak RSS per extra image (one 1024-d float32 feature "
          f"is 4 KiB; the decoded 96 px image 108 KiB); at {sizes[k10] * args.factor} images "
          f"that slope would add {slope * sizes[k10] * (args.factor - 1) / 1024:.0f} MiB")
    ratios = [b / a for a, b in zip(v1, v10)]
    print(f"peak RSS {args.factor}x / 1x: median {statistics.median(ratios):.3f}x   "
          f"min {min(ratios):.3f}x   max {max(ratios):.3f}x (goal <= 1.3x)")


if __name__ == "__main__":
    main()
