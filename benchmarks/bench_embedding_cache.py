"""Phase 1 with the embedding cache against the seeds' ``fit(epochs=N)`` over a frozen base.

Both sides are the same ``train_run`` (same data, backbone, head, epochs, seed) in one
process, run back to back in pairs, A B A B ...; only ``embedding_cache`` differs:
``"off"`` runs the frozen backbone on every batch of every epoch (what the seeds do), and
``"memory"`` runs it once and trains the head on the stored features.

Usage:
    python benchmarks/bench_embedding_cache.py [--images 480] [--epochs 10] [--repeats 3]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ratio_line, summary, write_images  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=480)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backbone", default="mobilenet_v2")
    parser.add_argument("--size", type=int, default=96)
    args = parser.parse_args()

    from transferkit.common.config import (BackboneConfig, DataConfig, HeadConfig, RunConfig,
                                           TrainConfig)
    from transferkit.common.train.trainer import train_run

    tmp = Path(tempfile.mkdtemp(prefix="tk-bench-cache-"))
    data = write_images(tmp / "data", args.images, args.size)

    def run(cache: str, i: int) -> dict:
        config = RunConfig(
            domain="vision",
            backbone=BackboneConfig(args.backbone, None, {"size": args.size}),
            # no standardisation: with the cache off it costs one extra feature pass
            head=HeadConfig(units=(128,), dropout=0.2, standardize=False),
            train=TrainConfig(epochs=args.epochs, early_stopping_patience=0,
                              embedding_cache=cache),
            data=DataConfig(train=str(data), validation_split=0.15, test_split=0.15))
        result = train_run(config, tmp / f"run-{cache}-{i}", verbose=0)
        return result.metrics

    run("memory", -1)  # warm-up: first-call tracing and file-system caches
    phase1 = {"off": [], "memory": []}
    total = {"off": [], "memory": []}
    for i in range(args.repeats):
        for cache in ("off", "memory"):
            timing = run(cache, i)["timing"]
            phase1[cache].append(timing["phase1_s"])
            total[cache].append(timing["total_s"])

    print(f"\n{args.backbone} (random init) at {args.size} px, {args.images} images "
          f"(70% train), {args.epochs} phase-1 epochs, {args.repeats} pairs")
    print(summary("phase 1, fit over frozen base", phase1["off"]))
    print(summary("phase 1, embedding cache", phase1["memory"]))
    print(ratio_line("phase 1 speed-up", phase1["off"], phase1["memory"]))
    print(summary("whole run, fit over frozen base", total["off"]))
    print(summary("whole run, embedding cache", total["memory"]))
    print(ratio_line("whole run speed-up", total["off"], total["memory"]))


if __name__ == "__main__":
    main()
