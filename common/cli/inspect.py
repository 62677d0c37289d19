"""Verbs that look at what is there: ``backbones``, ``report``, ``compare``."""
from __future__ import annotations

import json


def _count(n) -> str:
    if n is None:
        return "-"
    return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.0f}k" if n >= 1e3 else str(n)


def cmd_backbones(args) -> int:
    from tqdm.auto import tqdm

    from transferkit.common.model.inventory import backbone_row, sizes
    from transferkit.common.model.registry import get_backbone_spec, list_backbones

    specs = [get_backbone_spec(name) for name in list_backbones(args.domain)]
    measured = {} if args.no_sizes else sizes(
        specs, progress=lambda todo: tqdm(todo, desc="measuring backbones (once)", unit="model"))
    rows = [backbone_row(spec, measured.get(spec.name)) for spec in specs]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'name':<24}{'domain':<8}{'input':<26}{'features':>9}{'params':>8}  "
          f"{'weights offline':<44}{'ft lr':<7}description")
    for r in rows:
        print(f"{r['name']:<24}{r['domain']:<8}{r['input']:<26}{r['features'] or '-':>9}"
              f"{_count(r['params']):>8}  {r['offline']:<44}{r['fine_tune_lr']:<7.0e}"
              f"{r['description']}")
    return 0


def cmd_report(args) -> int:
    from transferkit.common.output.report import write_report

    print(write_report(args.run_dir))
    return 0


def cmd_compare(args) -> int:
    from transferkit.common.output.report import compare_runs

    print(compare_runs(args.run_dirs))
    return 0
