"""Feature-extraction levers, each against its baseline in the same process.

transferkit extracts embedding-cache features with a traced call at batch 128 and without
XLA. This measures the three choices behind that, on the same backbone and images:

- batch 128 against batch 32 (traced call);
- the traced call against ``model.predict`` (batch 128);
- ``jit_compile=True`` against plain tracing (batch 128).

Rounds alternate the variants, so a drift in machine speed hits all of them alike.

Usage:
    python benchmarks/bench_feature_extraction.py [--images 1024] [--repeats 5]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ratio_line, summary, timed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--backbone", default="mobilenet_v1")
    parser.add_argument("--size", type=int, default=128)
    args = parser.parse_args()

    import numpy as np

    from transferkit.common.keras import tf
    from transferkit.common.model.registry import create_backbone

    backbone = create_backbone(args.backbone, weights=None, size=args.size).model
    images = np.random.default_rng(0).uniform(
        0, 255, (args.images, args.size, args.size, 3)).astype(np.float32)

    def traced(jit: bool):
        fn = tf.function(lambda x: backbone(x, training=False), jit_compile=jit,
                         reduce_retracing=True)
        return lambda batch: [fn(images[i:i + batch]).numpy()
                              for i in range(0, len(images), batch)]

    variants = {
        "traced, batch 32": (traced(False), 32),
        "traced, batch 128": (traced(False), 128),
        "model.predict, batch 128": (lambda b: backbone.predict(images, batch_size=b,
                                                                verbose=0), 128),
        "traced + jit_compile, batch 128": (traced(True), 128),
    }
    for fn, batch in variants.values():  # warm-up: tracing and XLA compilation
        fn(batch)
    times = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, (fn, batch) in variants.items():
            times[name].append(timed(fn, batch)[0])

    print(f"\n{args.backbone} (random init) at {args.size} px, {args.images} images, "
          f"{args.repeats} rounds, {tf.config.threading.get_intra_op_parallelism_threads()} "
          f"intra-op threads (0 = all cores)")
    for name, t in times.items():
        print(summary(name, t))
    base = times["traced, batch 128"]
    print(ratio_line("batch 128 vs batch 32", times["traced, batch 32"], base))
    print(ratio_line("traced vs model.predict", times["model.predict, batch 128"], base))
    print(ratio_line("no XLA vs jit_compile", times["traced + jit_compile, batch 128"], base))


if __name__ == "__main__":
    main()
