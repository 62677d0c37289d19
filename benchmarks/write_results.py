"""Collect the benchmark outputs of ``make bench`` into ``benchmarks/RESULTS.md``.

Usage:
    python benchmarks/write_results.py OUTPUT_DIR
"""
from __future__ import annotations

import datetime
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine  # noqa: E402

ORDER = ("bench_seeds_loop", "bench_head_quality", "bench_text_padding", "bench_audio_loading",
         "bench_memory", "bench_overhead")
NOISE = ("item/s]", "I0000 ", "W0000 ", "E0000 ", "WARNING: All log", "warnings.warn",
         "UserWarning", "TensorFlow and JAX", "All model checkpoint", "All the layers",
         "If your task is similar")


def main() -> None:
    out = Path(sys.argv[1])
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    lines = ["# Benchmark results", "",
             f"Written by `make bench` on {datetime.date.today()} at commit `{commit}`; "
             f"{machine()}. Medians of the stated repeats; each section's last line is its "
             "headline ratio. Raw output below, progress bars and TensorFlow's start-up "
             "lines removed.", ""]
    for name in ORDER:
        path = out / f"{name}.txt"
        lines += [f"## {name}.py", ""]
        if not path.exists():
            lines += ["(not run)", ""]
            continue
        kept = [ln for ln in path.read_text().splitlines()
                if ln.strip() and not any(n in ln for n in NOISE)
                and not ln.startswith(("[transferkit]", "  warnings"))]
        lines += ["```", *kept, "```", ""]
    target = Path(__file__).resolve().parent / "RESULTS.md"
    target.write_text("\n".join(lines) + "\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
