"""Benchmark 6: toolkit overhead, a transferkit model against the same model by hand.

The transferkit side is what a user gets: ``train_run`` with the default ``RunConfig``
(only data and a random-init MobileNetV1 set) on a small image folder returns the joined
model (backbone + default head, a ``TwoRateModel``), and ``transferkit.load(run)`` the
exported SavedModel. The hand-written side is the same architecture as a plain
``tf_keras`` functional model: a second MobileNetV1 built the same way, then the default
head's layers written out (BatchNorm frozen as transferkit's ``unfreeze`` and the Keras
fine-tuning guide keep it; ``Normalization`` for the head's standardisation, the
``HeadConfig`` defaults' hidden units and dropout, a softmax ``Dense``), one Adam.

Timed alternately on the same in-memory batches, ``--repeats`` times:
- inference: ``model.predict`` (images/s), and the loaded SavedModel's serving signature
  against a traced call of the hand-written model, batch by batch;
- fine-tuning: ``fit`` over every backbone layer (steps/s); the transferkit model compiled
  as phase 2 compiles it (``TrainConfig`` defaults: the fine-tune learning rate, the
  backbone on its own optimizer at ``backbone_lr_multiplier`` of it).

Usage:
    python benchmarks/bench_overhead.py [--repeats 5] [--size 96] [--batch 32] [--steps 20]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, median, write_images  # noqa: E402

CLASSES = 3


def transferkit_model(tmp: Path, size: int):
    """(joined model, its backbone, the loaded run) from ``train_run`` with defaults."""
    import transferkit
    from transferkit.common.config import BackboneConfig, DataConfig, RunConfig
    from transferkit.common.model.registry import create_backbone
    from transferkit.common.train.trainer import train_run

    folder = write_images(tmp / "images", 60, size, classes=CLASSES)
    config = RunConfig(domain="vision",
                       backbone=BackboneConfig("mobilenet_v1", None, {"size": size}),
                       data=DataConfig(train=str(folder)))
    backbone = create_backbone("mobilenet_v1", weights=None, size=size)
    result = train_run(config, tmp / "run", backbone=backbone, verbose=0)
    return result.model, backbone, transferkit.load(tmp / "run"), config


def compile_like_phase2(model, backbone, config) -> None:
    """What phase 2 does to the joined model, with the config's (default) settings."""
    from transferkit.common.model.freezing import unfreeze
    from transferkit.common.keras import keras
    from transferkit.common.train.optim import make_optimizer

    t = config.train
    unfreeze(backbone, top=t.unfreeze_top, from_layer=t.unfreeze_from)
    model.compile(optimizer=make_optimizer(t.fine_tune_learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    if t.backbone_lr_multiplier != 1.0:
        model.set_backbone_optimizer(
            make_optimizer(t.fine_tune_learning_rate * t.backbone_lr_multiplier),
            backbone.model.trainable_variables)


def hand_written(size: int, head, lr: float):
    """MobileNetV1 + the default head's layers, written out in plain tf_keras."""
    from transferkit.common.keras import keras

    base = keras.applications.MobileNet(include_top=False, weights=None,
                                        input_shape=(size, size, 3))
    for layer in base.layers:  # the Keras fine-tuning guide: BatchNorm stays in inference
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    inputs = keras.Input((size, size, 3))
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs)  # the "tf" scaling
    x = keras.layers.GlobalAveragePooling2D()(base(x, training=False))
    if head.standardize:
        x = keras.layers.Normalization(mean=0.0, variance=1.0)(x)
    for units in head.units:
        x = keras.layers.Dense(units, activation=head.activation)(x)
        x = keras.layers.Dropout(head.dropout)(x)
    if not head.units and head.dropout:
        x = keras.layers.Dropout(head.dropout)(x)
    model = keras.Model(inputs, keras.layers.Dense(CLASSES, activation="softmax")(x))
    model.compile(optimizer=keras.optimizers.Adam(lr),
                  loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()

    import numpy as np

    from transferkit.common.keras import tf

    tmp = Path(tempfile.mkdtemp(prefix="tk-bench-overhead-"))
    tk, backbone, run, config = transferkit_model(tmp, args.size)
    compile_like_phase2(tk, backbone, config)
    hand = hand_written(args.size, config.head, config.train.fine_tune_learning_rate)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (args.batch * args.steps, args.size, args.size, 3)).astype("float32")
    y = rng.integers(0, CLASSES, len(x)).astype("int32")
    batches = [tf.constant(x[i:i + args.batch]) for i in range(0, len(x), args.batch)]
    hand_call = tf.function(lambda b: hand(b, training=False))

    def infer(model):
        t0 = time.perf_counter()
        model.predict(x, batch_size=args.batch, verbose=0)
        return len(x) / (time.perf_counter() - t0)

    def serve(call):
        t0 = time.perf_counter()
        for b in batches:
            call(b).numpy()
        return len(x) / (time.perf_counter() - t0)

    def train(model):
        t0 = time.perf_counter()
        model.fit(x, y, batch_size=args.batch, epochs=1, verbose=0, shuffle=False)
        return args.steps / (time.perf_counter() - t0)

    pairs = {"predict": (lambda: infer(tk), lambda: infer(hand)),
             "serving": (lambda: serve(run.predictor), lambda: serve(hand_call)),
             "fine-tune": (lambda: train(tk), lambda: train(hand))}
    for a, b in pairs.values():  # trace both sides outside the timing
        a(), b()
    rates = {k: ([], []) for k in pairs}
    for _ in range(args.repeats):
        for k, (a, b) in pairs.items():
            rates[k][0].append(a())
            rates[k][1].append(b())
    count = lambda m: sum(int(np.prod(v.shape)) for v in m.trainable_weights)  # noqa: E731
    print(f"# benchmark 6: transferkit model vs hand-written tf_keras ({machine()})")
    print(f"MobileNetV1 (random init) {args.size} px, batch {args.batch}, {len(x)} images, "
          f"{args.repeats} alternating repeats; trainable weights transferkit {count(tk):,}, "
          f"hand-written {count(hand):,}")
    print(f"  {'what':<50} {'transferkit':>12} {'by hand':>12} {'ratio':>8}  pairwise min..max")
    ratios = {}
    for k, (a, b) in rates.items():
        unit = "steps/s" if k == "fine-tune" else "images/s"
        pair = [p / q for p, q in zip(a, b)]
        ratios[k] = median(pair)
        what = {"predict": "model.predict", "serving": "load(run) SavedModel vs traced call",
                "fine-tune": "fit, whole backbone trainable"}[k]
        print(f"  {what + ' (' + unit + ')':<50} {median(a):12.2f} {median(b):12.2f} "
              f"{ratios[k]:7.3f}x  {min(pair):.2f}..{max(pair):.2f}")
    worst = min(ratios, key=ratios.get)
    print(f"transferkit / hand-written, worst ({worst}): {ratios[worst]:.3f}x "
          f"(goal >= 0.95x; medians of pairwise ratios); {machine()}")


if __name__ == "__main__":
    main()
