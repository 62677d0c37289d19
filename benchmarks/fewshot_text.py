"""Few-shot text: SetFit's contrastive method against frozen features + head and plain
fine-tuning, on the tweets (3 classes) with MiniLM-L6.

For each N (labelled examples per class) and seed, N per class are drawn for training and
another, disjoint N per class for validation (the head's L2 choice, phase 2's early stop);
every method and seed is scored on the same fixed test set of ``--test`` tweets (drawn
once, seed 12345, the data's own class mix; never used for training or validation).

- ``frozen``: phase 1 only (the default: a logistic head solved on frozen MiniLM features);
- ``full``: phase 1, then ``--ft-epochs`` epochs of plain fine-tuning
  (``fine_tune_method="full"``, head LR ``--ft-lr``, top block's LR ``--ft-lr`` × 0.25,
  gradual unfreezing from the top with per-group LR decay, phase 2's other defaults);
- ``contrastive``: ``fine_tune_method="contrastive"`` with its defaults (SetFit: 1 epoch of
  oversampled pairs, capped at ``contrastive_pairs`` = 2000, batch 16, Adam 2e-5, cosine
  similarity loss), then the same phase 1 on the tuned features.

Each finished cell is appended to ``<out>/results.jsonl``; a rerun skips the cells it holds,
so the script can be stopped and continued. The table is printed from that file.

Usage:
    python benchmarks/fewshot_text.py [--shots 8 16 64] [--seeds 0 1 2] \
        [--methods frozen full contrastive] [--out /tmp/fewshot] [--table-only]
"""
from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine  # noqa: E402  (sets TF_USE_LEGACY_KERAS before TF loads)
import numpy as np  # noqa: E402

METHODS = ("frozen", "full", "contrastive")
TEST_SEED = 12345


def tweets(out: Path) -> list[tuple[str, str]]:
    """All tweets as ``(text, label)``, fetched once into ``out``."""
    from transferkit.nlp.tweets import fetch_tweets

    path = out / "tweets.csv"
    if not path.exists():
        fetch_tweets(path, quiet=True)
    with open(path, newline="", encoding="utf-8") as fh:
        return [(row["text"], row["label"]) for row in csv.DictReader(fh)]


def split_pool(rows, n_test: int) -> tuple[list, list]:
    """``(test rows, the rest)``: the fixed test set and the pool few-shot sets come from."""
    order = np.random.default_rng(TEST_SEED).permutation(len(rows))
    return [rows[i] for i in order[:n_test]], [rows[i] for i in order[n_test:]]


def few_shot(pool, n: int, seed: int) -> tuple[list, list]:
    """``(train, validation)``: ``n`` per class each, disjoint, drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for label in sorted({lab for _, lab in pool}):
        idx = rng.permutation([i for i, (_, lab) in enumerate(pool) if lab == label])
        train += [pool[i] for i in idx[:n]]
        val += [pool[i] for i in idx[n:2 * n]]
    return train, val


def write_csv(path: Path, rows) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return str(path)


def config_for(method: str, data, seed: int, args):
    """The run config of one method; everything but the method's own fields is shared."""
    from transferkit.common.config import BackboneConfig, RunConfig, TrainConfig

    shared = dict(seed=seed, batch_size=16)
    train = {"frozen": TrainConfig(**shared),
             "full": TrainConfig(**shared, fine_tune_epochs=args.ft_epochs,
                                 fine_tune_learning_rate=args.ft_lr, backbone_lr_multiplier=0.25,
                                 unfreeze_schedule="gradual"),
             "contrastive": TrainConfig(**shared, fine_tune_method="contrastive")}[method]
    return RunConfig(domain="text", data=data, train=train,
                     backbone=BackboneConfig("minilm_l6", options={"max_length": args.max_length}))


def run_cell(method: str, shots: int, seed: int, test_csv: str, pool, args) -> dict:
    from transferkit.common.config import DataConfig
    from transferkit.common.train.trainer import train_run

    cell = args.out / f"n{shots}_s{seed}"
    train, val = few_shot(pool, shots, seed)
    data = DataConfig(train=write_csv(cell / "train.csv", train),
                      validation=write_csv(cell / "validation.csv", val), test=test_csv)
    t0 = time.perf_counter()
    result = train_run(config_for(method, data, seed, args), cell / method, verbose=0,
                       overwrite=True)
    test = result.metrics["test"]
    return {"method": method, "shots": shots, "seed": seed, "accuracy": test["accuracy"],
            "macro_f1": test["macro_f1"], "seconds": round(time.perf_counter() - t0, 1),
            "timing": result.metrics["timing"]}


def done_cells(path: Path) -> dict:
    if not path.exists():
        return {}
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {(r["method"], r["shots"], r["seed"]): r for r in rows}


def table(rows: dict, shots_list, methods) -> str:
    """Mean ± std (over seeds) of test accuracy and macro-F1, each method's difference in
    mean macro-F1 from ``frozen`` and from ``full``, and a last headline line."""
    lines = [f"{'N/class':>7} {'method':<12} {'seeds':>5} {'accuracy':>17} {'macro-F1':>17} "
             f"{'dF1 vs frozen':>13} {'dF1 vs full':>11} {'s/run':>6}"]
    for shots in shots_list:
        f1s = {m: [r["macro_f1"] for (m2, n, _), r in rows.items() if m2 == m and n == shots]
               for m in METHODS}
        for method in methods:
            cells = [r for (m, n, _), r in rows.items() if m == method and n == shots]
            if not cells:
                lines.append(f"{shots:>7} {method:<12} {0:>5}   (not run)")
                continue
            acc, f1 = _stat([r["accuracy"] for r in cells]), _stat(f1s[method])
            delta = [f"{f1[0] - _stat(f1s[b])[0]:+.3f}" if f1s[b] else "-"
                     for b in ("frozen", "full")]
            secs = statistics.mean(r["seconds"] for r in cells)
            lines.append(f"{shots:>7} {method:<12} {len(cells):>5} {acc[0]:>9.3f} ± {acc[1]:.3f} "
                         f"{f1[0]:>9.3f} ± {f1[1]:.3f} {delta[0]:>13} {delta[1]:>11} "
                         f"{secs:>6.0f}")
    return "\n".join(lines + [_headline(rows, shots_list)])


def _headline(rows: dict, shots_list) -> str:
    """Contrastive's macro-F1 minus frozen's on the same draw (seed), mean ± std over the
    seeds with both, at each N."""
    parts = []
    for shots in shots_list:
        gains = [rows[("contrastive", shots, s)]["macro_f1"] - r["macro_f1"]
                 for (m, n, s), r in rows.items()
                 if m == "frozen" and n == shots and ("contrastive", shots, s) in rows]
        if gains:
            mean, std = _stat(gains)
            parts.append(f"N={shots}: {mean:+.3f} ± {std:.3f} (n={len(gains)})")
    return ("contrastive - frozen, test macro-F1 paired by seed: "
            + ("; ".join(parts) or "no cells"))


def _stat(values) -> tuple[float, float] | None:
    if not values:
        return None
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shots", type=int, nargs="+", default=[8, 16, 64])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--test", type=int, default=1200, help="fixed test tweets")
    p.add_argument("--max-length", type=int, default=64, help="tokens per tweet")
    p.add_argument("--ft-epochs", type=int, default=5)
    p.add_argument("--ft-lr", type=float, default=2e-4)
    p.add_argument("--out", type=Path, default=Path("/tmp/fewshot_text"))
    p.add_argument("--table-only", action="store_true")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    results = args.out / "results.jsonl"
    print(f"machine: {machine()}", flush=True)
    if not args.table_only:
        test, pool = split_pool(tweets(args.out), args.test)
        test_csv = write_csv(args.out / "test.csv", test)
        for shots in args.shots:  # N outer, seeds, then methods: a partial table compares
            for seed in args.seeds:
                for method in args.methods:
                    if (method, shots, seed) in done_cells(results):
                        continue
                    row = run_cell(method, shots, seed, test_csv, pool, args)
                    with open(results, "a", encoding="utf-8") as fh:
                        fh.write(json.dumps(row) + "\n")
                    print(json.dumps(row), flush=True)
    print(table(done_cells(results), args.shots, args.methods))


if __name__ == "__main__":
    main()
