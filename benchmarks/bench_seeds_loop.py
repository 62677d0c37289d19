"""Benchmark 1: ``transferkit train`` with its defaults against the seeds' own Keras loop.

The seeds' recipe, written here in plain tf_keras as a user would: frozen MobileNetV1
(the converted ImageNet weights) -> GAP -> Dense(128, relu) -> softmax, Adam,
``fit(epochs=10)`` at batch 32 over ``image_dataset_from_directory``, then ``evaluate``.
Against it, ``transferkit train --data TRAIN --test TEST --backbone mobilenet_v1 --option
size=128 --out RUN`` with every other flag at its default (the weights default to the
converted ImageNet MobileNetV1), each run its own process: the process wall clock counts
imports, backbone build, weights, training, evaluation and export (goal 7). Same folder
for both: Fashion-MNIST, 2,000 training images (200 per class) and 1,000 test images
(100 per class), 128 px.

Each transferkit process runs the CLI's ``main`` with timers wrapped around the trainer's
steps (build, weight load, feature extraction, head fit, evaluation, each export format),
so one run also gives where its time goes. The timers only measure; nothing is changed.

Also measured in this process: one plain forward pass of the backbone over the same 3,000
images, decoded in memory beforehand (a traced call at batch 128): the physical limit of
any frozen-feature method, which has to run the backbone over every image once.

Usage:
    python benchmarks/bench_seeds_loop.py [--repeats 3] [--seed-repeats 1]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_STARTED = time.perf_counter()
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Timers, fashion_folder, machine, median, summary  # noqa: E402

SIZE = 128


def seeds_loop(data: Path, weights: Path, epochs: int = 10) -> tuple[float, float]:
    """The seeds' loop. Returns (seconds for data + build + fit + evaluate, test accuracy)."""
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


def child(report: Path, argv: list[str]) -> int:
    """Run ``transferkit <argv>`` in this process with timers; write them to ``report``."""
    t0 = time.perf_counter()
    from transferkit.common.cli import parser as cli
    from transferkit.common.output import export
    from transferkit.common.train import phases
    from transferkit.common.train import trainer
    from transferkit.vision.applications import build as keras_app

    imported = time.perf_counter() - t0
    timers, items = Timers(), []
    timers.wrap(trainer, "create_backbone", "build + weights")
    timers.wrap(keras_app, "_load_file", "weight load")
    original = phases.extract_features

    def counted(backbone, dataset, n_items, **kw):
        items.append(n_items)
        return original(backbone, dataset, n_items, **kw)

    phases.extract_features = counted
    timers.wrap(phases, "extract_features", "feature extraction")
    import transferkit.common.train.head_fit as head_fit

    timers.wrap(head_fit, "fit_cached_head", "head fit")
    timers.wrap(trainer, "_evaluate", "evaluate")
    timers.wrap(trainer, "export_model", "export")
    timers.wrap(export, "save_serving", "export SavedModel")
    timers.wrap(export, "_try_keras_file", "export .keras")
    rc = cli.main(argv)
    report.write_text(json.dumps({
        "before_main_s": t0 - _STARTED, "import_s": imported, "seconds": timers.seconds,
        "extracted_items": sum(items), "missing": timers.missing}))
    return rc


def transferkit_run(data: Path, out: Path) -> dict:
    """``transferkit train`` with its defaults, as its own process (wall clock outside)."""
    report = out.with_suffix(".timers.json")
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(report), "--", "train", "--data",
         str(data / "train"), "--test", str(data / "test"), "--backbone", "mobilenet_v1",
         "--option", f"size={SIZE}", "--out", str(out)],
        capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    wall = time.perf_counter() - t0
    if proc.returncode:
        sys.exit(f"transferkit train failed:\n{proc.stderr[-3000:]}")
    metrics = json.loads((out / "metrics.json").read_text())
    timing = metrics["timing"]
    return {"wall": wall, "run": timing["total_s"] - timing["export_s"],
            "total": timing["total_s"], "accuracy": metrics["test"]["accuracy"],
            "timing": timing, "head": metrics.get("head"), "timers": json.loads(
                report.read_text())}


def forward_pass(data: Path, repeats: int = 3) -> tuple[list[float], int]:
    """Seconds of one traced forward pass over every image, decoded beforehand; (times, n)."""
    import numpy as np

    from transferkit.common.keras import tf
    from transferkit.common.model.registry import create_backbone
    from transferkit.vision.data import load_image

    built = create_backbone("mobilenet_v1", weights="mobilenet_v1_imagenet", size=SIZE)
    backbone, contract = built.model, built.contract
    paths = [str(p) for split in ("train", "test")  # resolve(): data/train may be a link
             for p in sorted((data / split).resolve().rglob("*.png"))]
    images = np.stack([load_image(p, contract).numpy() for p in paths])
    @tf.function(reduce_retracing=True)
    @tf.autograph.experimental.do_not_convert
    def call(x):
        return backbone(x, training=False)

    call(tf.constant(images[:128]))  # trace outside the timing
    call(tf.constant(images[len(images) // 128 * 128:]))  # and the last partial batch
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for i in range(0, len(images), 128):
            call(tf.constant(images[i:i + 128])).numpy()
        times.append(time.perf_counter() - t0)
    return times, len(images)


def breakdown(runs: list[dict], forward_rate: float, seeds_rate: float | None) -> list[str]:
    """Median seconds per step of the transferkit runs, and the extraction rate."""
    keys = ["import", "build + weights", "weight load", "feature extraction", "head fit",
            "evaluate", "export", "export SavedModel", "export .keras"]
    rows = []
    for key in keys:
        vals = [r["timers"]["import_s"] if key == "import" else
                r["timers"]["seconds"].get(key) for r in runs]
        if any(v is None for v in vals):
            rows.append(f"  {key:<28} n/a (not reached, or the code moved)")
            continue
        rows.append(f"  {key:<28} {median(vals):7.2f} s")
    ext = [r["timers"]["seconds"].get("feature extraction") for r in runs]
    if all(ext):
        n = runs[0]["timers"]["extracted_items"]
        rate = median(n / e for e in ext)
        rows.append(f"  extraction rate              {rate:7.1f} images/s over {n} images "
                    f"(decode + trace included); plain forward pass {forward_rate:.1f} images/s"
                    f" ({forward_rate / rate:.2f}x faster)")
    if seeds_rate:
        rows.append(f"  the seeds' fit ran the frozen backbone at {seeds_rate:.1f} images/s "
                    "(backward through the head only)")
    rest = [r["run"] - sum(r["timers"]["seconds"].get(k, 0) for k in
                           ("build + weights", "feature extraction", "head fit", "evaluate"))
            for r in runs]
    rows.append(f"  rest of the run (splits, files, checkpoints) {median(rest):5.2f} s; process"
                f" outside train_run (start, imports, exit) "
                f"{median(r['wall'] - r['total'] for r in runs):5.2f} s")
    missing = sorted({m for r in runs for m in r["timers"]["missing"]})
    if missing:
        rows.append(f"  not timed (moved): {', '.join(missing)}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="transferkit runs")
    parser.add_argument("--seed-repeats", type=int, default=1, help="runs of the seeds' loop")
    parser.add_argument("--per-class", type=int, default=200, help="training images per class")
    parser.add_argument("--test-per-class", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=10, help="the seeds' fit epochs")
    args = parser.parse_args()

    from transferkit.common.model.weights import named_weights

    weights = named_weights("mobilenet_v1_imagenet").cached()
    if weights is None:
        sys.exit("run `transferkit weights fetch mobilenet_v1_imagenet` first")
    tmp = Path(tempfile.mkdtemp(prefix="tk-bench-seeds-"))
    data = fashion_folder(tmp / "fm", args.per_class, args.test_per_class)
    n_train = sum(1 for _ in (data / "train").rglob("*.png"))
    n_test = sum(1 for _ in (data / "test").rglob("*.png"))
    print(f"# benchmark 1: seeds' loop vs transferkit defaults ({machine()})")
    print(f"data: {n_train} train / {n_test} test Fashion-MNIST images, {SIZE} px, frozen "
          f"ImageNet MobileNetV1 (converted); transferkit: {args.repeats} processes, seeds' "
          f"loop: {args.seed_repeats} run(s), alternating")
    tk_runs, seeds = [], []
    for i in range(max(args.repeats, args.seed_repeats)):
        if i < args.repeats:
            tk_runs.append(transferkit_run(data, tmp / f"run{i}"))
        if i < args.seed_repeats:
            seeds.append(seeds_loop(data, weights, args.epochs))
    forward, n = forward_pass(data)
    tk_run, tk_total = [r["run"] for r in tk_runs], [r["total"] for r in tk_runs]
    tk_wall, seed_time = [r["wall"] for r in tk_runs], [s[0] for s in seeds]
    print(summary(f"seeds' loop, fit({args.epochs}) + evaluate", seed_time))
    print(summary("transferkit run, no export", tk_run))
    print(summary("transferkit run, with export", tk_total))
    print(summary("transferkit process, all in", tk_wall))
    print(summary(f"one forward pass, {n} images", forward))
    print(f"accuracy: seeds' loop {median(s[1] for s in seeds):.4f}  transferkit "
          f"{median(r['accuracy'] for r in tk_runs):.4f} (goal: >= the seeds')")
    head = tk_runs[0]["head"] or {}
    print(f"transferkit head: {head.get('solver')} {json.dumps(head.get('chosen'))}")
    print(f"transferkit metrics.json timing (median): phase1_s "
          f"{median(r['timing']['phase1_s'] for r in tk_runs):.2f}, export_s "
          f"{median(r['timing']['export_s'] for r in tk_runs):.2f}, total_s {median(tk_total):.2f}")
    print("where a transferkit process spends its time (median of the runs):")
    seeds_rate = n_train * args.epochs / median(seed_time) if seeds else None
    for line in breakdown(tk_runs, n / median(forward), seeds_rate):
        print(line)
    print(f"transferkit run (no export) / one forward pass: {median(tk_run) / median(forward):.2f}x"
          f" (goal <= 1.2x)")
    print(f"whole transferkit process, imports and export included: {median(tk_wall):.1f} s "
          f"(goal <= 30 s)")
    print(f"speed-up, seeds' loop / transferkit run without export: "
          f"{median(seed_time) / median(tk_run):.2f}x (goal >= 8x); with export "
          f"{median(seed_time) / median(tk_total):.2f}x; {machine()}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        sys.exit(child(Path(sys.argv[2]), sys.argv[sys.argv.index("--") + 1:]))
    main()
