"""LoRA against full fine-tuning of the top blocks and against frozen features: MiniLM-L6 on
the tweets.

One stratified subset of the tweets (``--tweets``, default 3,000) is split once (seed 0):
one third is the fixed test set, the rest trains (10% of it validation). For each seed
(``--seeds``) three runs of ``train_run`` share that split and the phase-1 settings (the
default head solved on frozen MiniLM features, extracted once: the disk embedding cache of
the first run is copied into the others, its key matching):

- ``frozen``: phase 1 only (features + head);
- ``full``: then ``fine_tune_method="full"`` on the ``--unfreeze-top`` top transformer
  blocks (all from the first epoch) for ``--epochs`` epochs, head LR ``--lr-full``, every
  other phase-2 setting at the project's default (LR multiplier, warm-up, decay);
- ``lora``: then ``fine_tune_method="lora"``, rank ``--rank``, alpha ``2 × rank`` on
  query,value for the same epochs at ``--lr-lora`` (plain Adam, constant LR).

Printed per run and as mean ± standard deviation over seeds: test accuracy and macro-F1,
the weights that phase 2 actually trained (counted from the model's trainable weights when
``fit`` starts, the head included), and seconds per phase-2 epoch. Ratios against ``full``
are printed beside. CPU only (no GPU used), so keep it small.

Usage:
    python benchmarks/lora_text.py [--tweets 3000] [--seeds 0 1] [--epochs 2] [--max-length 48]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine  # noqa: E402

METHODS = ("frozen", "full", "lora")


def tweet_splits(tmp: Path, n: int):
    from transferkit.common.data.splits import split_examples
    from transferkit.nlp.data import read_source
    from transferkit.nlp.tweets import fetch_tweets

    path = fetch_tweets(tmp / "tweets.csv", subset=n, seed=0, quiet=True)
    return split_examples(read_source(path), validation=0.1 * 2 / 3, test=1 / 3, seed=0)


def run_config(method: str, seed: int, args):
    from transferkit.common.config import BackboneConfig, RunConfig, TrainConfig

    train = dict(seed=seed, batch_size=32, early_stopping_patience=0, embedding_cache="disk")
    if method == "full":  # the project's phase-2 defaults, all chosen blocks from epoch 0
        train.update(fine_tune_epochs=args.epochs, fine_tune_method="full",
                     unfreeze_top=args.unfreeze_top, fine_tune_learning_rate=args.lr_full)
        if "unfreeze_schedule" in {f.name for f in dataclasses.fields(TrainConfig)}:
            train["unfreeze_schedule"] = "all"
    elif method == "lora":
        train.update(fine_tune_epochs=args.epochs, fine_tune_method="lora",
                     lora_rank=args.rank, lora_alpha=2.0 * args.rank,
                     fine_tune_learning_rate=args.lr_lora)
    return RunConfig(domain="text", train=TrainConfig(**train), backbone=BackboneConfig(
        "minilm_l6", "minilm_l6", {"max_length": args.max_length}))


def watch_phase2() -> dict:
    """Record, for each phase-2 ``fit``, the trainable weights, the epoch times and the
    test scores of the model its last epoch left (``seen["test_of"]`` scores a model),
    before phase 2's selection may put the phase-1 weights back."""
    from transferkit.common.train import callbacks as cb

    seen = {"trained": 0, "epochs": []}

    class Watch(cb.PhaseHistory):
        def on_train_begin(self, logs=None):
            if self.phase == "phase2":
                seen["trained"] = int(sum(w.shape.num_elements()
                                          for w in self.model.trainable_weights))
                seen["t0"] = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            super().on_epoch_end(epoch, logs)
            if self.phase == "phase2":
                seen["epochs"].append(time.perf_counter() - seen["t0"])
                seen["t0"] = time.perf_counter()

        def on_train_end(self, logs=None):
            if self.phase == "phase2":
                seen["last"] = seen["test_of"](self.model)

    cb.PhaseHistory = Watch
    return seen


def one_run(method: str, seed: int, splits, tmp: Path, args, seen: dict) -> dict:
    from transferkit.common.train.trainer import train_run

    seen.update(trained=0, epochs=[], last=None)
    out = tmp / f"{method}-{seed}"
    seen["test_of"] = lambda model: test_scores(model, out, splits)
    cache = tmp / "features"  # frozen MiniLM features: one key for every run here
    if cache.is_dir():
        shutil.copytree(cache, out / "features")
    result = train_run(run_config(method, seed, args), out, splits=splits, verbose=0)
    if not cache.is_dir():
        shutil.copytree(out / "features", cache)
    test = result.metrics["test"]
    row = {"method": method, "seed": seed, "accuracy": test["accuracy"],
           "macro_f1": test["macro_f1"], "trained": seen["trained"],
           "epoch_s": statistics.mean(seen["epochs"]) if seen["epochs"] else 0.0}
    last = seen["last"] or (row["accuracy"], row["macro_f1"])
    row.update(last_accuracy=last[0], last_macro_f1=last[1])
    if method == "lora":
        row["fraction"] = json.loads((out / "lora.json").read_text())["fraction"]
    print(f"  {method:<7} seed {seed}: accuracy {row['accuracy']:.4f}  macro-F1 "
          f"{row['macro_f1']:.4f}  (last epoch, unselected: {last[0]:.4f} / {last[1]:.4f})  "
          f"phase-2 trainable {row['trained']:>10,}  {row['epoch_s']:6.1f} s/epoch"
          + (f"  (LoRA {row['fraction']:.2%} of MiniLM)" if "fraction" in row else ""),
          flush=True)
    return row


def test_scores(model, out: Path, splits) -> tuple[float, float]:
    """(accuracy, macro-F1) of ``model`` on the test split, preprocessed as the run does."""
    from transferkit.common.data.domain import get_domain
    from transferkit.common.data.labels import LabelCodec
    from transferkit.common.data.pipeline import build_pipeline
    from transferkit.common.model.contracts import contract_from_dict
    from transferkit.common.output.evaluate import evaluate_predictions

    contract = contract_from_dict(json.loads((out / "contract.json").read_text())["contract"])
    codec = LabelCodec.fit(splits.train.labels)
    ds = build_pipeline(get_domain("text"), contract, splits.test.items, batch_size=64)
    scores = evaluate_predictions(codec, codec.encode(splits.test.labels),
                                  model.predict(ds, verbose=0))
    return scores["accuracy"], scores["macro_f1"]


def merge_parity(run_dir: Path, texts) -> None:
    """The LoRA run's exports against its un-merged adapter model, rebuilt from
    ``lora_adapters.npz`` on a fresh MiniLM: the merge must change no output."""
    import numpy as np

    from transferkit.common.data.domain import PipelineOptions, get_domain
    from transferkit.common.keras import tf
    from transferkit.common.model.heads import join
    from transferkit.common.model.registry import create_backbone
    from transferkit.common.output.calibration import apply_temperature
    from transferkit.common.output.rundir import load
    from transferkit.common.train.lora_phase import ADAPTERS, attach_saved

    run, domain = load(run_dir), get_domain("text")
    ds = domain.make_dataset(list(texts), None, run.contract, PipelineOptions())
    merged = run.keras_model()  # rebuilt, model_weights.h5 loaded by order
    backbone = create_backbone("minilm_l6", weights="minilm_l6", **run.config.backbone.options)
    plain = join(backbone.model, merged.layers[-1]).predict(ds, verbose=0)
    attach_saved(domain, backbone, run.config.train, run.run_dir / ADAPTERS)
    adapter = join(backbone.model, merged.layers[-1]).predict(ds, verbose=0)
    serve = tf.saved_model.load(str(run.run_dir / "saved_model")).signatures["serving_default"]
    got = serve(text=tf.constant(list(texts)))["output_0"].numpy()
    want = apply_temperature(adapter, run.temperature) if run.temperature else adapter
    print(f"\n  merge parity on {len(texts)} test tweets ({run_dir.name}): max |merged model - "
          f"adapter model| {np.abs(merged.predict(ds, verbose=0) - adapter).max():.2e}, "
          f"max |SavedModel on raw text - adapter model| {np.abs(got - want).max():.2e} "
          f"(the adapters moved the outputs by up to {np.abs(adapter - plain).max():.3f})")


def _ms(values) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} ± {sd:.4f}"


def report(rows: list[dict]) -> None:
    print(f"\n  {'method':<7} {'accuracy (mean ± sd)':>22} {'macro-F1 (mean ± sd)':>22} "
          f"{'last-epoch acc':>22} {'last-epoch macro-F1':>22} {'trainable':>11} {'s/epoch':>8}")
    by = {m: [r for r in rows if r["method"] == m] for m in METHODS}
    for method, group in by.items():
        if group:
            print(f"  {method:<7} " + " ".join(f"{_ms([r[k] for r in group]):>22}" for k in (
                "accuracy", "macro_f1", "last_accuracy", "last_macro_f1"))
                + f" {group[0]['trained']:>11,} "
                f"{statistics.mean(r['epoch_s'] for r in group):8.1f}")
    full, lora = by["full"], by["lora"]
    if full and lora and full[0]["trained"] and full[0]["epoch_s"]:
        def mean(group, key):
            return statistics.mean(r[key] for r in group)

        print(f"\n  lora / full: trainable weights {lora[0]['trained'] / full[0]['trained']:.4f}x, "
              f"s/epoch {mean(lora, 'epoch_s') / mean(full, 'epoch_s'):.2f}x, macro-F1 "
              f"{(mean(lora, 'macro_f1') - mean(full, 'macro_f1')) * 100:+.2f} points, "
              f"accuracy {(mean(lora, 'accuracy') - mean(full, 'accuracy')) * 100:+.2f} points; "
              f"last-epoch macro-F1 "
              f"{(mean(lora, 'last_macro_f1') - mean(full, 'last_macro_f1')) * 100:+.2f} points")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tweets", type=int, default=3000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=48)
    parser.add_argument("--unfreeze-top", type=int, default=2)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--lr-full", type=float, default=1e-4)
    parser.add_argument("--lr-lora", type=float, default=1e-3)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--features", type=Path, default=None,
                        help="a features/ folder of an earlier run of this script to reuse")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tk-bench-lora-"))
    if args.features is not None:
        shutil.copytree(args.features, tmp / "features")
    splits = tweet_splits(tmp, args.tweets)
    print(f"# LoRA vs full fine-tuning vs frozen: MiniLM-L6 on {args.tweets} tweets "
          f"({len(splits.train)}/{len(splits.validation)}/{len(splits.test)} train/validation/"
          f"test), {args.epochs} phase-2 epochs, max_length {args.max_length} ({machine()})")
    seen = watch_phase2()
    # The frozen run's head is solved deterministically on fixed features and splits: the
    # seed changes nothing there, so it runs once.
    rows = [one_run(m, seed, splits, tmp, args, seen) for seed in args.seeds
            for m in args.methods if m != "frozen" or seed == args.seeds[0]]
    report(rows)
    if "lora" in args.methods:
        merge_parity(tmp / f"lora-{args.seeds[-1]}", splits.test.items[:32])


if __name__ == "__main__":
    main()
