"""Benchmark 6: toolkit overhead, a transferkit model against the same model by hand.

The transferkit side is the joined model that ``train_run`` builds (backbone + head through
:func:`transferkit.common.heads.join`, a ``TwoRateModel`` with the backbone on its own
optimizer); the hand-written side is the same backbone layers + ``Dense`` softmax as a
plain ``tf_keras`` functional model with one Adam. Both are timed alternately on the same
in-memory batch: inference (``predict``, images/s) and fine-tune train steps (``fit`` over
every layer, steps/s).

Usage:
    python benchmarks/bench_overhead.py [--repeats 5] [--size 96]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()

    import numpy as np

    from transferkit.common.config import HeadConfig
    from transferkit.common.heads import build_head, join, loss_and_metrics
    from transferkit.common.keras import keras
    from transferkit.common.optim import make_optimizer
    from transferkit.common.registry import create_backbone

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (args.batch * args.steps, args.size, args.size, 3)).astype("float32")
    y = rng.integers(0, 10, len(x)).astype("int32")
    loss, metrics = loss_and_metrics("multiclass")

    backbone = create_backbone("mobilenet_v1", weights=None, size=args.size)
    tk = join(backbone, build_head(tuple(backbone.output_shape[1:]), HeadConfig(), 10))
    tk.compile(optimizer=make_optimizer(1e-4), loss=loss, metrics=metrics)
    tk.set_backbone_optimizer(make_optimizer(1e-5), backbone.trainable_variables)

    plain_bb = create_backbone("mobilenet_v1", weights=None, size=args.size)
    out = keras.layers.Dense(10, activation="softmax")(plain_bb.outputs[0])
    hand = keras.Model(plain_bb.inputs, out)
    hand.compile(optimizer=keras.optimizers.Adam(1e-4), loss=loss, metrics=metrics)

    def infer(model):
        t0 = time.perf_counter()
        model.predict(x, batch_size=args.batch, verbose=0)
        return len(x) / (time.perf_counter() - t0)

    def train(model):
        t0 = time.perf_counter()
        model.fit(x, y, batch_size=args.batch, epochs=1, verbose=0, shuffle=False)
        return args.steps / (time.perf_counter() - t0)

    for model in (tk, hand):  # trace both outside the timing
        infer(model), train(model)
    rates = {k: [] for k in ("tk_infer", "hand_infer", "tk_train", "hand_train")}
    for _ in range(args.repeats):
        rates["tk_infer"].append(infer(tk))
        rates["hand_infer"].append(infer(hand))
        rates["tk_train"].append(train(tk))
        rates["hand_train"].append(train(hand))
    print(f"# benchmark 6: transferkit model vs hand-written tf_keras ({machine()})")
    print(f"MobileNetV1 (random init) {args.size} px, batch {args.batch}, "
          f"{args.repeats} alternating repeats")
    for k, v in rates.items():
        unit = "images/s" if "infer" in k else "steps/s"
        print(f"{k:<12} median {statistics.median(v):9.2f} {unit}   min {min(v):9.2f}   "
              f"max {max(v):9.2f}")
    ratio = {kind: statistics.median([a / b for a, b in zip(rates[f"tk_{kind}"],
                                                            rates[f"hand_{kind}"])])
             for kind in ("infer", "train")}
    print(f"transferkit / hand-written: inference {ratio['infer']:.3f}x, "
          f"fine-tune steps {ratio['train']:.3f}x (goal >= 0.95x); "
          f"worst {min(ratio.values()):.3f}x")


if __name__ == "__main__":
    main()
