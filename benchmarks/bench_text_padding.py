"""Frozen text feature extraction: length-ordered batches vs pad-to-max and input order.

Real tweets through real frozen MiniLM-L6 (max_length 64, batch 128), three ways:

- pad-to-max: every batch packed to ``max_length`` tokens (a fixed-length tokenizer);
- dynamic padding in input order: today's ``make_dataset`` (each batch padded to its own
  longest text) + ``extract_features``;
- length-ordered: the text domain's ``extraction_order`` (``length_order``: texts sorted by
  token length), the same ``make_dataset`` on the sorted texts, and
  ``extract_features(..., order=...)`` to scatter the rows back; its time includes
  measuring the lengths.

Rounds alternate the three, so a drift in machine speed hits all of them alike; the three
feature matrices are checked to agree (allclose) before timing.

Usage:
    python benchmarks/bench_text_padding.py [--texts 1500] [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, ratio_line, summary, timed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=1500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--max-length", type=int, default=64)
    args = parser.parse_args()

    import numpy as np

    from transferkit.common.data.domain import PipelineOptions, get_domain
    from transferkit.common.train.features import extract_features
    from transferkit.common.keras import tf
    from transferkit.common.model.registry import create_backbone
    from transferkit.nlp.pipeline import token_lengths
    from transferkit.nlp.tokenizer import load_packer
    from transferkit.recipes.text_recipes import _tweet_splits

    with tempfile.TemporaryDirectory() as tmp:
        splits, _ = _tweet_splits(Path(tmp), 2000, 0)
    texts = [str(t) for t in splits.train.items][: args.texts]
    n = len(texts)
    built = create_backbone("minilm_l6", weights="minilm_l6", max_length=args.max_length)
    backbone, contract = built.model, built.contract
    domain = get_domain("text")
    options = PipelineOptions(batch_size=args.batch_size)
    packer = load_packer(contract)
    width = int(contract.max_length)

    def pad_to_max(batch):  # the packer's output, padded on to max_length tokens
        extra = [[0, 0], [0, width - tf.shape(batch["input_word_ids"])[1]]]
        return {"input_word_ids": tf.pad(batch["input_word_ids"], extra,
                                         constant_values=packer.pad_id),
                "input_mask": tf.pad(batch["input_mask"], extra),
                "input_type_ids": tf.pad(batch["input_type_ids"], extra)}

    def fixed_dataset(items):
        ds = tf.data.Dataset.from_tensor_slices(tf.constant(items, tf.string))
        return (ds.batch(args.batch_size)
                .map(lambda s: pad_to_max(packer(s)), num_parallel_calls=tf.data.AUTOTUNE)
                .prefetch(tf.data.AUTOTUNE))

    def run_pad_to_max():
        return extract_features(backbone, fixed_dataset(texts), n)

    def run_input_order():
        return extract_features(backbone, domain.make_dataset(texts, None, contract, options), n)

    def run_length_ordered():
        order = domain.extraction_order(texts, contract)
        ds = domain.make_dataset([texts[i] for i in order], None, contract, options)
        return extract_features(backbone, ds, n, order=order)

    variants = {"pad-to-max": run_pad_to_max,
                "dynamic padding, input order": run_input_order,
                "length-ordered": run_length_ordered}

    # Warm-up (tracing for each batch shape) and the correctness check.
    feats = {name: fn() for name, fn in variants.items()}
    ref = feats["pad-to-max"]
    for name, f in feats.items():
        np.testing.assert_allclose(f, ref, atol=1e-4, err_msg=name)
    max_diff = max(float(np.max(np.abs(f - ref))) for f in feats.values())

    lengths = token_lengths(texts, contract)
    order = domain.extraction_order(texts, contract)

    def widths(ls):
        return [int(ls[i:i + args.batch_size].max())
                for i in range(0, len(ls), args.batch_size)]

    tokens = {"pad-to-max": [width] * len(widths(lengths)),
              "dynamic padding, input order": widths(lengths),
              "length-ordered": widths(lengths[order])}

    times = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, fn in variants.items():
            times[name].append(timed(fn)[0])

    print(f"\nfrozen MiniLM-L6 (real weights), {n} real tweets (token length median "
          f"{int(np.median(lengths))}, max {int(lengths.max())}, capped at {width}), batch "
          f"{args.batch_size}, {args.repeats} rounds; features agree (max |diff| "
          f"{max_diff:.1e})")
    for name, t in times.items():
        print(summary(name, t) + f"   {n / statistics.median(t):7.1f} ex/s   "
              f"padded width/batch {statistics.mean(tokens[name]):5.1f}")
    print(ratio_line("length-ordered vs input order", times["dynamic padding, input order"],
                     times["length-ordered"]))
    ratios = [b / c for b, c in zip(times["pad-to-max"], times["length-ordered"])]
    print(f"length-ordered vs pad-to-max: {statistics.median(ratios):.2f}x examples/s "
          f"(median of {args.repeats} pairs; goal >= 2x) on nproc={os.cpu_count()}, "
          f"{machine()}")


if __name__ == "__main__":
    main()
