"""``transferkit inspect``: audit a dataset on cached features (label issues,
near-duplicates and leakage, class balance)."""
from __future__ import annotations

VERB = "inspect"


def add_parser(sub) -> None:
    from transferkit.common.cli.options import add_backbone_args, add_dataclass_args
    from transferkit.common.config import DataConfig

    p = sub.add_parser(VERB, help="audit a dataset on cached features: likely label issues, "
                       "near-duplicates and leakage, class balance",
                       description="Reads and splits the data as train does, caches the "
                       "backbone's features in --out, then writes inspect.json and "
                       "inspect.html there.")
    p.add_argument("--data", help="data: folder of class folders, CSV/TSV, JSONL")
    add_backbone_args(p, config_help="start from a run's config.json / .yaml (flags override)")
    p.add_argument("--out", default="inspect", help="folder for inspect.json, inspect.html "
                   "and the feature cache (default: inspect)")
    p.add_argument("--top", type=int, default=20, help="rows shown per list (default 20)")
    p.add_argument("--threshold", type=float, help="cosine at or above which two items are "
                   "near-duplicates (default 0.9, measured on Fashion-MNIST)")
    p.add_argument("--seed", type=int, dest="train__seed", metavar="SEED",
                   help="split and fold seed (default 0, as train)")
    p.add_argument("--batch-size", type=int, dest="train__batch_size", metavar="N",
                   help="feature-extraction batch (at least 128)")
    p.add_argument("--json", action="store_true", help="print inspect.json instead of tables")
    add_dataclass_args(p, DataConfig, "data", skip={"train"})


def run(args) -> int:
    import json
    from pathlib import Path

    from transferkit.common.cli.commands import config_from_args
    from transferkit.common.inspect.audit import inspect_data
    from transferkit.common.inspect.duplicates import THRESHOLD
    from transferkit.common.inspect.table import terminal_table

    threshold = THRESHOLD if args.threshold is None else args.threshold
    if not 0 < threshold <= 1:
        raise ValueError(f"inspect: --threshold must be in (0, 1], got {threshold}")
    args.resume = False  # config_from_args reads a previous run's config only on --resume
    config = config_from_args(args)
    if not config.data.train:
        raise ValueError("inspect: --data is required")
    checks = inspect_data(config, Path(args.out), threshold=threshold)
    print(json.dumps(checks, indent=2) if args.json else terminal_table(checks, args.top))
    return 0
