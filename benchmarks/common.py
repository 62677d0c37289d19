"""Shared bits of the benchmarks: data, robust timing summaries, step timers, the machine."""
from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def write_images(root: Path, n: int, size: int, classes: int = 3, seed: int = 0) -> Path:
    """``n`` PNGs in ``classes`` class folders: noise tinted by class, learnable."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for i in range(n):
        label = i % classes
        img = rng.integers(0, 120, (size, size, 3), dtype=np.uint8)
        img[..., label] += 120
        folder = root / f"class_{label}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(folder / f"{i:05d}.png")
    return root


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def summary(name: str, times: list[float]) -> str:
    return (f"{name:<34} median {statistics.median(times):8.3f} s   "
            f"min {min(times):8.3f}   max {max(times):8.3f}   (n={len(times)})")


def ratio_line(name: str, baseline: list[float], candidate: list[float]) -> str:
    """Median of the pairwise ratios baseline/candidate (pairs ran back to back)."""
    ratios = [b / c for b, c in zip(baseline, candidate)]
    return (f"{name:<34} baseline/candidate: median {statistics.median(ratios):6.2f}x   "
            f"min {min(ratios):6.2f}x   max {max(ratios):6.2f}x")


def machine() -> str:
    """One line about the machine, for every benchmark's header."""
    import platform

    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPU cores, {model or platform.processor()}, no GPU used"


def median(values) -> float:
    return statistics.median(list(values))


def fashion_folder(root: Path, per_class: int = 200, test_per_class: int = 100) -> Path:
    """``root/train`` and ``root/test`` of Fashion-MNIST PNGs, stratified random subsets.

    The same writer as ``transferkit data fashion-mnist --per-class N`` (which has no flag
    for the test size, so the test split is written here with its own count), seed 0.
    """
    from transferkit.vision.fashion_mnist import write_class_folders

    write_class_folders(root, "train", per_class=per_class, quiet=True)
    write_class_folders(root, "test", per_class=test_per_class, quiet=True)
    return root


class Timers:
    """Wall-clock totals of named calls, by wrapping functions where they are looked up.

    Measurement only: each wrapper calls the original with the same arguments. A name that
    is not there (the code moved) is reported missing instead of failing the benchmark.

    Example:
        >>> timers = Timers()
        >>> timers.wrap(trainer_module, "export_model", "export")  # doctest: +SKIP
    """

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.missing: list[str] = []

    def wrap(self, module, attr: str, label: str) -> None:
        original = getattr(module, attr, None)
        if original is None:
            self.missing.append(f"{module.__name__}.{attr}")
            return

        def timed_call(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - t0
                self.calls[label] = self.calls.get(label, 0) + 1

        setattr(module, attr, timed_call)
