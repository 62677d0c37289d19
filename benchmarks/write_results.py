"""Collect the benchmark outputs of ``make bench`` into ``benchmarks/RESULTS.md``.

``OUTPUT_DIR`` holds ``<script>.txt`` (its output) and ``<script>.rc`` (its exit status)
per benchmark. RESULTS.md gets the date, machine and commit, a table of each script's
headline (its last line), then each script's output with progress bars and TensorFlow's
start-up chatter removed.

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
NOISE = ("item/s]", "it/s]", "I0000 ", "W0000 ", "E0000 ", "WARNING: All log", "warnings.warn",
         "UserWarning", "TensorFlow and JAX", "All model checkpoint", "All the layers",
         "If your task is similar", "WARNING:tensorflow", "Cause: could not parse",
         "To silence this warning", "# coding=utf-8", "lambda x:", "Found ", "Epoch ",
         "/step")


def kept_lines(text: str) -> list[str]:
    kept = [ln.rstrip() for ln in text.splitlines()
            if not any(n in ln for n in NOISE)
            and not ln.startswith(("[transferkit]", "[recipe]", "  warnings", "real\t",
                                   "user\t", "sys\t"))]
    # one blank line between blocks, none at the ends
    return [ln for i, ln in enumerate(kept) if ln or (i > 0 and kept[i - 1])]


def status(out: Path, name: str) -> tuple[str, list[str]]:
    """(headline or why there is none, the kept output lines)."""
    path, rc_path = out / f"{name}.txt", out / f"{name}.rc"
    if not path.exists():
        return "not run (script missing)", []
    lines = kept_lines(path.read_text())
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    rc = rc_path.read_text().strip() if rc_path.exists() else "0"
    if rc != "0":
        return f"FAILED (exit {rc}): {lines[-1] if lines else 'no output'}", lines
    return (lines[-1] if lines else "no output"), lines


def main() -> None:
    out = Path(sys.argv[1])
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    results = {name: status(out, name) for name in ORDER}
    lines = ["# Benchmark results", "",
             f"Written by `make bench` on {datetime.date.today()} at commit `{commit}`"
             f"{' (with uncommitted changes)' if dirty else ''}; {machine()}. Medians of the "
             "stated repeats; each section's last line is its headline ratio. Output below "
             "with progress bars and TensorFlow's start-up lines removed.", "",
             "| # | benchmark | headline (last line) |", "|---|---|---|"]
    for i, name in enumerate(ORDER, 1):
        lines.append(f"| {i} | `{name}.py` | {results[name][0].replace('|', '/')} |")
    lines.append("")
    for name in ORDER:
        lines += [f"## {name}.py", ""]
        kept = results[name][1]
        lines += ["```", *kept, "```", ""] if kept else [results[name][0], ""]
    target = Path(__file__).resolve().parent / "RESULTS.md"
    target.write_text("\n".join(lines) + "\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
