"""Benchmark 1: ``transferkit train`` with its defaults against the seeds' own Keras loop.

The seeds' recipe, written here in plain tf_keras as a user would: frozen MobileNetV1
(the converted ImageNet weights) -> GAP -> Dense(128, relu) -> softmax, Adam,
``fit(epochs=10)`` at batch 32 over ``image_dataset_from_directory``, then ``evaluate``.
Against it, ``transferkit train --data TRAIN --test TEST --backbone mobilenet_v1 --option
size=128`` with every other flag at its default, as a separate process (imports, backbone
build, weights, training, evaluation and export all counted), on the same Fashion-MNIST
folder: 2,000 training images (200 per class) and 1,000 test images, 128 px.

Also measured in this process: one plain forward pass of the backbone over the same 3,000
images, already decoded in memory (a traced call at batch 128): the physical limit of any
frozen-feature method, which has to run the backbone over every image once.

Usage:
    python benchmarks/bench_seeds_loop.py [--repeats 3] [--seed-repeats 1]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, summary  # noqa: E402

SIZE = 128


def fashion_folder(root: Path, per_class: int = 200, test_per_class: int = 100) -> Path:
    """``root/train`` (per_class per class) and ``root/test`` (test_per_class per class)."""
    tk = Path(sys.executable).with_name("transferkit")
    subprocess.run([str(tk), "data", "fashion-mnist", "--out", str(root / "all"),
                    "--per-class", str(per_class)], check=True, capture_output=True)
    shutil.move(str(root / "all" / "train"), str(root / "train"))
    for cls in sorted(p for p in (root / "all" / "test").iterdir() if p.is_dir()):
        (root / "test" / cls.name).mkdir(parents=True)
        for f in sorted(cls.iterdir())[:test_per_class]:
            shutil.copy(f, root / "test" / cls.name / f.name)
    shutil.rmtree(root / "all")
    return root


def seeds_loop(data: Path, weights: Path, epochs: int = 10) -> tuple[float, float]:
    """The seeds' loop, verbatim in spirit. Returns (seconds for fit + evaluate, accuracy)."""
    from transferkit.common.keras import keras

    t0 = time.perf_counter()
    load = dict(image_size=(SIZE, SIZE), batch_size=32, label_mode="int", color_mode="rgb")
    train = keras.utils.image_dataset_from_directory(str(data / "train"), shuffle=True,
                                                     seed=0, **load)
    test = keras.utils.image_dataset_from_directory(str(data / "test"), shuffle=False, **load)
    base = keras.applications.MobileNet(include_top=False, weights=None,
                                        input_shape=(SIZE, SIZE, 3))
    base.load_weights(str(weights))
    base.trainable = False
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.applications.mobilenet.preprocess_input(inputs)
    x = base(x, training=False)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(128, activation="relu")(x)
    outputs = keras.layers.Dense(len(train.class_names), activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(train, epochs=epochs, verbose=0)
    _, accuracy = model.evaluate(test, verbose=0)
    return time.perf_counter() - t0, float(accuracy)


def transferkit_run(data: Path, out: Path) -> dict:
    """``transferkit train`` with its defaults, as its own process."""
    tk = Path(sys.executable).with_name("transferkit")
    t0 = time.perf_counter()
    subprocess.run([str(tk), "train", "--data", str(data / "train"), "--test",
                    str(data / "test"), "--backbone", "mobilenet_v1", "--option",
                    f"size={SIZE}", "--out", str(out)], check=True, capture_output=True,
                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    wall = time.perf_counter() - t0
    metrics = json.loads((out / "metrics.json").read_text())
    timing = metrics["timing"]
    return {"wall": wall, "run": timing["total_s"] - timing["export_s"],
            "accuracy": metrics["test"]["accuracy"], "timing": timing,
            "head": metrics.get("head", {}).get("chosen")}


def forward_pass(data: Path, repeats: int = 3) -> tuple[float, int]:
    """(median seconds, images) of one traced forward pass over every image, decoded."""
    import numpy as np

    from transferkit.common.keras import tf
    from transferkit.common.registry import create_backbone
    from transferkit.vision.data import load_image

    backbone = create_backbone("mobilenet_v1", weights="mobilenet_v1_imagenet", size=SIZE)
    contract = backbone._transferkit_contract
    paths = [str(p) for p in sorted(data.rglob("*.png"))]
    images = np.stack([load_image(p, contract).numpy() for p in paths])
    call = tf.function(lambda x: backbone(x, training=False), reduce_retracing=True)
    call(tf.constant(images[:128]))  # trace outside the timing
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for i in range(0, len(images), 128):
            call(tf.constant(images[i:i + 128])).numpy()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), len(images)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="transferkit runs")
    parser.add_argument("--seed-repeats", type=int, default=1, help="runs of the seeds' loop")
    parser.add_argument("--data", default="", help="an existing train/ + test/ folder")
    args = parser.parse_args()

    from transferkit.common.weights import named_weights

    weights = named_weights("mobilenet_v1_imagenet").cached()
    if weights is None:
        sys.exit("run `transferkit weights fetch mobilenet_v1_imagenet` first")
    tmp = Path(tempfile.mkdtemp(prefix="tk-bench-seeds-"))
    data = Path(args.data) if args.data else fashion_folder(tmp / "fm")
    print(f"# benchmark 1: seeds' loop vs transferkit defaults ({machine()})")
    print(f"data: {sum(1 for _ in (data / 'train').rglob('*.png'))} train / "
          f"{sum(1 for _ in (data / 'test').rglob('*.png'))} test Fashion-MNIST images, "
          f"{SIZE} px, frozen ImageNet MobileNetV1")
    tk_runs, seeds = [], []
    for i in range(max(args.repeats, args.seed_repeats)):
        if i < args.repeats:
            tk_runs.append(transferkit_run(data, tmp / f"run{i}"))
        if i < args.seed_repeats:
            seeds.append(seeds_loop(data, weights))
    forward, n = forward_pass(data)
    tk_run = [r["run"] for r in tk_runs]
    tk_wall = [r["wall"] for r in tk_runs]
    seed_time = [s[0] for s in seeds]
    print(summary("seeds' loop, fit(10) + evaluate", seed_time))
    print(summary("transferkit run, no export", tk_run))
    print(summary("transferkit process, all in", tk_wall))
    print(summary(f"one forward pass, {n} images", [forward]))
    print(f"accuracy: seeds' loop {statistics.median(s[1] for s in seeds):.4f}  "
          f"transferkit {statistics.median(r['accuracy'] for r in tk_runs):.4f}  "
          f"(head chosen: {tk_runs[0]['head']})")
    print(f"transferkit timing (first run): {tk_runs[0]['timing']}")
    print(f"transferkit run / one forward pass: {statistics.median(tk_run) / forward:.2f}x "
          f"(goal <= 1.2x); whole process {statistics.median(tk_wall):.1f} s (goal <= 30 s)")
    print(f"speed-up, seeds' loop / transferkit run without export: "
          f"{statistics.median(seed_time) / statistics.median(tk_run):.2f}x (goal >= 8x)")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
