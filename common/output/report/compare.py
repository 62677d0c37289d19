"""``compare_runs``: several runs side by side, as a plain-text table for a terminal.

Rows are the config fields that differ between the runs (flattened: ``train.epochs``) and
the headline metrics; columns are the runs.

Example:
    >>> print(compare_runs(["runs/a", "runs/b"]))  # doctest: +SKIP
                         a       b
    -------------------  ------  ------
    train.epochs         10      20
    test accuracy        0.81    0.84
"""
from __future__ import annotations

from pathlib import Path

from transferkit.common.output.report.inputs import read_config, read_json

ABSENT = "–"
# (row title, split or None, key): the headline figures; rows empty for every run are dropped.
METRIC_ROWS = (("test accuracy", "test", "accuracy"),
               ("validation accuracy", "validation", "accuracy"),
               ("test macro_f1", "test", "macro_f1"),
               ("validation macro_f1", "validation", "macro_f1"),
               ("test subset_accuracy", "test", "subset_accuracy"),
               ("test micro_f1", "test", "micro_f1"),
               ("test mae", "test", "mae"),
               ("test r2", "test", "r2"),
               ("timing total_s", "timing", "total_s"))


def compare_runs(run_dirs) -> str:
    """A side-by-side text table of the runs' differing config fields and headline metrics.

    Raises:
        ValueError: A run directory lacks a readable ``config.json`` or ``metrics.json``
            (the message names the file).

    Example:
        >>> "train.epochs" in compare_runs(["runs/a", "runs/b"])  # doctest: +SKIP
        True
    """
    dirs = [Path(d) for d in run_dirs]
    if not dirs:
        raise ValueError("compare_runs: no run directories given")
    configs = [flatten(read_config(d / "config.json")) for d in dirs]
    metrics = [read_json(d / "metrics.json") for d in dirs]
    calibrations = [_optional_json(d / "calibration.json") for d in dirs]
    keys = sorted(set().union(*configs))
    rows = [[key] + [_show(c.get(key, ABSENT)) for c in configs] for key in keys
            if len({_show(c.get(key, ABSENT)) for c in configs}) > 1]
    if not rows:
        rows = [["(configs are identical)"] + [""] * len(dirs)]
    rows.append(None)  # a rule between the config and the metrics
    found = [(title, [(m.get(split) or {}).get(key) for m in metrics])
             for title, split, key in METRIC_ROWS]
    found.append(("ECE after", [_ece_after(c) for c in calibrations]))
    rows += [[title] + [ABSENT if v is None else _show(v) for v in values]
             for title, values in found if any(v is not None for v in values)]
    return render(["", *run_names(dirs)], rows)


def flatten(value, prefix: str = "") -> dict:
    """Nested dicts as one level, keys joined by dots.

    Example:
        >>> flatten({"train": {"epochs": 3}, "recipe": ""})
        {'train.epochs': 3, 'recipe': ''}
    """
    if not isinstance(value, dict):
        return {prefix: value}
    flat = {}
    for key, inner in value.items():
        flat.update(flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def run_names(dirs) -> list[str]:
    """Each run's folder name, with its parent's where two names would clash."""
    names = [d.resolve().name for d in dirs]
    return [f"{d.resolve().parent.name}/{n}" if names.count(n) > 1 else n
            for d, n in zip(dirs, names)]


def render(header, rows) -> str:
    """Rows (lists of strings, None for a rule) as aligned plain-text columns."""
    body = [r for r in rows if r is not None]
    widths = [max(len(str(r[i])) for r in [header] + body) for i in range(len(header))]
    rule = "  ".join("-" * w for w in widths)
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths)).rstrip(), rule]
    for row in rows:
        lines.append(rule if row is None else
                     "  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    return "\n".join(lines) + "\n"


def _show(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(map(str, value)) + ")"
    return str(value)


def _optional_json(path: Path) -> dict:
    return read_json(path) if path.is_file() else {}


def _ece_after(calibration: dict):
    return calibration.get("test_ece_after", calibration.get("ece_after"))
