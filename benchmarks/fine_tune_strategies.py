"""Benchmark: does phase 2 help, and does gradual unfreezing + per-group LRs beat plain
fine-tuning at equal epochs?

Fashion-MNIST (the issue's setting): ImageNet MobileNetV1 (converted from PyPI), 200 images
per class from the training file (1,800 train / 200 validation, split seeded) and
``--test-per-class`` per class from the test file, at ``--size`` px. Per seed, three runs
of phase 2 from the same phase-1 model (the trainer's own ``prepare``, cached features and
solved head, run once per seed), differing only in phase 2:

- ``phase1``: the solved head on frozen features (no phase 2);
- ``plain``: every layer at once, one learning rate (head LR everywhere), the same
  regularisation as the defaults (AdamW, warm-up + cosine, BN frozen);
- ``gradual``: gradual unfreezing by block group, per-group learning rates (0.5 per group).
  Measured (3 seeds, 96 px, 3 epochs): plain +1.6 pt over phase 1, gradual +0.6, so
  plain (all at once, one LR) is the default and gradual is opt-in.

``--variants`` adds ``old`` (the issue's run: top 20 layers, backbone LR = 0.1 × head LR,
constant LR, no augmentation, no weight decay, no schedule). Each variant prints its test
accuracy and phase-2 time; the summary gives mean and spread over seeds and the
differences against phase 1 and against plain.

Usage:
    python benchmarks/fine_tune_strategies.py [--seeds 0 1] [--size 128] [--epochs 4]
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine  # noqa: E402

PHASE2 = {
    "phase1": dict(fine_tune_epochs=0),
    "plain": dict(unfreeze_schedule="all", backbone_lr_multiplier=1.0, lr_group_decay=1.0),
    "gradual": dict(unfreeze_schedule="gradual", lr_group_decay=0.5),
    "noaug": dict(fine_tune_augment=False),
    "noaug_3e-4": dict(fine_tune_augment=False, fine_tune_learning_rate=3e-4),
    "aug_3e-4": dict(fine_tune_learning_rate=3e-4),
    "plain_noaug": dict(unfreeze_schedule="all", backbone_lr_multiplier=1.0,
                        lr_group_decay=1.0, fine_tune_augment=False),
    "old": dict(unfreeze_top=20, fine_tune_learning_rate=1e-4, backbone_lr_multiplier=0.1,
                unfreeze_schedule="all", lr_group_decay=1.0, warmup_epochs=0.0,
                lr_decay="constant", weight_decay=0.0, fine_tune_augment=False),
}


def fashion_splits(per_class: int, test_per_class: int, seed: int):
    from transferkit.common.data.splits import Splits, split_examples
    from transferkit.recipes.common import fashion_mnist_examples

    train = split_examples(fashion_mnist_examples(per_class, "train"), validation=0.1,
                           test=0.0, seed=seed)
    test = fashion_mnist_examples(test_per_class, "test")
    return Splits(train=train.train, validation=train.validation, test=test)


def phase1_model(splits, out: Path, *, size: int, seed: int):
    """The run's context and the joined model after phase 1 (the solved head), once per
    seed: every variant fine-tunes from the same phase-1 weights."""
    from transferkit.common.config import BackboneConfig, DataConfig, RunConfig, TrainConfig
    from transferkit.common.model.heads import build_head, join, loss_and_metrics
    from transferkit.common.train import phases, trainer

    config = RunConfig(domain="vision", backbone=BackboneConfig(
        "mobilenet_v1", "mobilenet_v1_imagenet", {"size": size}),
        train=TrainConfig(seed=seed), data=DataConfig(train="fashion-mnist (built in)"))
    ctx = trainer.prepare(config, out / f"phase1_{seed}", splits=splits, verbose=0)
    head = build_head(ctx.backbone.output_shape, ctx.config.head, ctx.codec.num_outputs)
    phases.train_head(ctx, head, phases.cached_features(ctx))
    model = join(ctx.backbone.model, head)
    loss, metrics = loss_and_metrics(ctx.codec.task)
    model.compile(loss=loss, metrics=metrics)  # phase 1's model evaluates as it is
    return ctx, model


def run_variant(variant: str, ctx, model, snapshot, out: Path, *, epochs: int) -> dict:
    """Phase 2 of ``variant`` from the phase-1 ``snapshot``; test and validation accuracy."""
    from transferkit.common.model.freezing import all_trainable, freeze
    from transferkit.common.seed import set_global_seed
    from transferkit.common.train.fine_tune import fine_tune

    with all_trainable(model):
        model.set_weights(snapshot)
    freeze(ctx.backbone)
    set_global_seed(ctx.config.train.seed)
    t0 = time.perf_counter()
    if variant != "phase1":
        train = dataclasses.replace(ctx.config.train, fine_tune_epochs=epochs,
                                    **PHASE2[variant])
        run = dataclasses.replace(ctx, config=dataclasses.replace(ctx.config, train=train),
                                  run_dir=out / f"{variant}_{train.seed}")
        run.ckpt.mkdir(parents=True, exist_ok=True)
        fine_tune(run, model)
    seconds = time.perf_counter() - t0
    return {"test": _accuracy(ctx, model, "test"), "val": _accuracy(ctx, model, "validation"),
            "phase2_s": seconds}


def _accuracy(ctx, model, split: str) -> float:
    return float(model.evaluate(ctx.dataset(split), verbose=0, return_dict=True)["accuracy"])


def spread(values: list[float]) -> str:
    mean = statistics.mean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"mean {mean:.4f} sd {sd:.4f} (n={len(values)}: {', '.join(f'{v:.4f}' for v in values)})"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--per-class", type=int, default=200)
    p.add_argument("--test-per-class", type=int, default=100)
    p.add_argument("--variants", nargs="+", default=["phase1", "plain", "gradual"])
    p.add_argument("--out", default="")
    a = p.parse_args(argv)
    from transferkit.vision.mobilenet_v1.weights import fetch_mobilenet_v1_imagenet

    fetch_mobilenet_v1_imagenet()
    print(f"# fine-tune strategies, Fashion-MNIST, MobileNetV1 ImageNet, {a.size} px, "
          f"{a.epochs} phase-2 epochs; {machine()}", flush=True)
    out = Path(a.out or tempfile.mkdtemp(prefix="tk_ft_"))
    got = {v: [] for v in a.variants}
    for seed in a.seeds:
        splits = fashion_splits(a.per_class, a.test_per_class, seed)
        print(f"seed {seed}: {len(splits.train)} train / {len(splits.validation)} validation "
              f"/ {len(splits.test)} test", flush=True)
        ctx, model = phase1_model(splits, out, size=a.size, seed=seed)
        from transferkit.common.model.freezing import all_trainable

        with all_trainable(model):
            snapshot = model.get_weights()
        for variant in a.variants:
            r = run_variant(variant, ctx, model, snapshot, out, epochs=a.epochs)
            got[variant].append(r)
            print(f"  {variant:<12} test acc {r['test']:.4f}  val acc {r['val']:.4f}  "
                  f"phase 2 {r['phase2_s']:.0f} s", flush=True)
    _summary(got)


def _summary(got: dict) -> None:
    print("# summary (test accuracy)")
    for variant, rows in got.items():
        print(f"{variant:<8} {spread([r['test'] for r in rows])}   phase-2 time mean "
              f"{statistics.mean(r['phase2_s'] for r in rows):.0f} s")
    for a, b in (("gradual", "phase1"), ("plain", "phase1"), ("gradual", "plain"),
                 ("old", "phase1")):
        if a in got and b in got:
            diffs = [x["test"] - y["test"] for x, y in zip(got[a], got[b])]
            print(f"{a} - {b}: {spread(diffs)}")


if __name__ == "__main__":
    main()
