"""``transferkit predict RUN FILES…|--data SRC [--top-k K] [--csv OUT] [--json]``.

Inputs are image/audio files or folders, texts (``@file.txt`` for one per line), or with
``--data`` a source in the run's format: a labelled one (class folders, a CSV/JSONL with the
run's label column) adds each item's true label and the accuracy; an unlabelled folder is
read like FILES.
"""
from __future__ import annotations

import csv
import io
import json
import sys

import numpy as np


def _items(run, args) -> tuple[list, list | None]:
    from transferkit.common.data.domain import get_domain
    from transferkit.common.data.read import read, read_options

    domain = get_domain(run.config.domain)
    if not args.data:
        if not args.inputs:
            raise ValueError("predict: give FILES (or texts) or --data SRC")
        return list(domain.read_inputs(args.inputs)), None
    try:
        examples = read(domain, args.data, read_options(run.config), "predict")
    except ValueError:
        return list(domain.read_inputs([args.data])), None  # a plain folder of files
    labelled = all(label is not None for label in examples.labels)
    return list(examples.items), list(examples.labels) if labelled else None


def rows(run, items, outputs: np.ndarray, top_k: int) -> list[dict]:
    """One row per item: ``input, label, score`` and, for multiclass, the top ``k``."""
    decoded = run.codec.decode(outputs)
    out = []
    for item, label, values in zip(items, decoded, outputs):
        row = {"input": str(item), "label": label}
        if run.codec.task == "multiclass":
            order = np.argsort(-values)[:max(1, top_k)]
            row["score"] = float(values[order[0]])
            if top_k > 1:
                row["top_k"] = [{"label": run.labels[i], "score": float(values[i])}
                                for i in order]
        out.append(row)
    return out


def _line(row: dict) -> str:
    cells = [row["input"], row["label"] if isinstance(row["label"], str) else
             json.dumps(row["label"])]
    if "top_k" in row:
        cells += [f"{c['label']}:{c['score']:.4f}" for c in row["top_k"]]
    elif "score" in row:
        cells.append(f"{row['score']:.4f}")
    if "true" in row:
        cells.append(f"true={row['true']}")
    return "\t".join(cells)


def _write_csv(path: str, table: list[dict]) -> None:
    from transferkit.common.io import atomic_write_text

    k = max((len(r.get("top_k", [])) for r in table), default=0)
    fields = ["input", "label", "score"] + (["true"] if any("true" in r for r in table) else [])
    fields += [f"{part}_{i + 1}" for i in range(k) for part in ("label", "score")]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for r in table:
        flat = {**r, "label": r["label"] if isinstance(r["label"], str) else
                json.dumps(r["label"])}
        for i, c in enumerate(r.get("top_k", [])):
            flat[f"label_{i + 1}"], flat[f"score_{i + 1}"] = c["label"], f"{c['score']:.6f}"
        writer.writerow(flat)
    atomic_write_text(path, buf.getvalue())


def cmd_predict(args) -> int:
    from transferkit.common.output.rundir import load

    run = load(args.run_dir)
    items, truth = _items(run, args)
    table = rows(run, items, run.predict(items, batch_size=args.batch_size), args.top_k)
    for row, true in zip(table, truth or []):
        row["true"] = true
    for row in table:
        print(json.dumps(row) if args.json else _line(row))
    if truth is not None and run.codec.task == "multiclass":
        right = sum(r["label"] == r["true"] for r in table)
        print(f"accuracy {right / len(table):.4f} ({right}/{len(table)})", file=sys.stderr)
    if args.csv:
        _write_csv(args.csv, table)
        print(f"written to {args.csv}", file=sys.stderr)
    return 0
