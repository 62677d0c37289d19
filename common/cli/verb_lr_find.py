"""``transferkit lr-find --data … --backbone …``: sweep the head's learning rate.

It reads and splits the data as ``train`` would (same flags), computes the frozen backbone's
features of the training split, runs the exponential sweep of
:mod:`~transferkit.common.train.lr_find` on a fresh head (Adam, 1e-7 to 10, 100 steps,
stopping once the smoothed loss passes 4x its minimum), writes ``lr_find.png`` and
``lr_find.json`` into ``--out`` and prints the suggestion (the loss minimum's rate / 10).
``transferkit train --learning-rate auto`` runs the same sweep inside the run.

Example:
    $ transferkit lr-find --data flowers/ --backbone mobilenet_v2 --out lr/flowers
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile

VERB = "lr-find"


def add_parser(sub) -> None:
    from transferkit.common.cli.options import add_backbone_args, add_dataclass_args
    from transferkit.common.config import DataConfig, HeadConfig, TrainConfig

    p = sub.add_parser(VERB, help="sweep the head's learning rate exponentially, plot loss "
                       "against it and suggest a value",
                       description="Frozen-backbone features of the training split, then one "
                       "Adam step per rate from --start to --end (exponential); writes "
                       "OUT/lr_find.png and OUT/lr_find.json and prints the suggestion "
                       "(rate at the smoothed loss minimum / 10). train --learning-rate auto "
                       "does the same inside a run.")
    p.add_argument("--data", required=True, help="training data, as for train")
    p.add_argument("--out", default="lr_find", help="folder for lr_find.png/json "
                   "(default ./lr_find)")
    add_backbone_args(p, weights_help="pretrained source name, 'none' or a local path")
    p.add_argument("--start", type=float, default=1e-7, help="first rate (default 1e-7)")
    p.add_argument("--end", type=float, default=10.0, help="last rate (default 10)")
    p.add_argument("--steps", type=int, default=100, help="steps (default 100)")
    p.add_argument("--json", action="store_true", help="print lr_find.json's summary as JSON")
    add_dataclass_args(p, TrainConfig, "train", skip={"learning_rate"})
    add_dataclass_args(p, HeadConfig, "head")
    add_dataclass_args(p, DataConfig, "data", skip={"train"})


def run(args) -> int:
    from transferkit.common.train import lr_find

    found = find_for_args(args)
    plot = lr_find.save(found, args.out, f"{args.backbone or 'head'} head")
    summary = {"suggestion": found.suggestion, "min_lr": found.min_lr,
               "steepest_lr": found.steepest_lr, "steps": len(found.lrs),
               "stopped_early": found.stopped_early, "plot": str(plot)}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"suggested learning rate: {found.suggestion:.3g} (smoothed loss minimum at "
              f"{found.min_lr:.3g}, / 10; steepest descent at {found.steepest_lr:.3g}); "
              f"{len(found.lrs)} steps; plot: {plot}\n"
              f"use it: transferkit train ... --learning-rate {found.suggestion:.3g} "
              f"(or --learning-rate auto)")
    return 0


def find_for_args(args):
    """The sweep for the train-style flags in ``args``, in a scratch run folder."""
    from transferkit.common.cli.commands import config_from_args
    from transferkit.common.train import lr_find, phases
    from transferkit.common.train.trainer import prepare

    with tempfile.TemporaryDirectory(prefix="transferkit-lr-find-") as scratch:
        flags = argparse.Namespace(**{**vars(args), "out": scratch, "resume": False})
        config = config_from_args(flags)
        ctx = prepare(config, scratch, verbose=0)
        features = phases.cached_features(ctx) if ctx.uses_cache() else None
        if not (0 < args.start < args.end) or args.steps < 2:
            raise ValueError(f"lr-find: need 0 < --start < --end and --steps >= 2, got "
                             f"{args.start}, {args.end}, {args.steps}")
        return _sweep(ctx, features, args, lr_find)


def _sweep(ctx, features, args, lr_find):
    import numpy as np

    from transferkit.common.model.heads import adapt_head, build_head, loss_and_metrics

    if features is None:  # augmentation on / cache off: the context's own extraction
        return lr_find.sweep_context(ctx, None)
    x = np.asarray(features["train"])
    head = build_head(ctx.backbone.output_shape, ctx.config.head, ctx.codec.num_outputs)
    adapt_head(head, x)
    print(f"[transferkit] lr-find: {args.steps} steps from {args.start:g} to {args.end:g} on "
          f"{len(x)} training features", file=sys.stderr, flush=True)
    return lr_find.find_learning_rate(
        head, x, ctx.codec.encode(ctx.splits.train.labels),
        loss_and_metrics(ctx.codec.task)[0], batch_size=ctx.config.train.batch_size,
        start=args.start, end=args.end, steps=args.steps, seed=ctx.config.train.seed)
