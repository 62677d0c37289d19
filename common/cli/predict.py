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
from pathlib import Path

import numpy as np


def _items(run, args) -> list[dict]:
    """``{"input", "error"[, "true"]}`` per input, in order: a file that can't be used (or a
    folder with no files of the domain) carries the reason, so it gets its own row."""
    from transferkit.common.data.domain import get_domain
    from transferkit.common.data.read import read, read_options

    domain = get_domain(run.config.domain)
    if not args.data:
        if not args.inputs:
            raise ValueError("predict: give FILES (or texts) or --data SRC")
        return _checked(domain, args.inputs)
    try:
        examples = read(domain, args.data, read_options(run.config), "predict")
    except ValueError:
        return _checked(domain, [args.data])  # a plain folder of files
    labelled = all(label is not None for label in examples.labels)
    entries = [{"input": str(item), "error": "", **({"true": label} if labelled else {})}
               for item, label in zip(examples.items, examples.labels)]
    return entries + [{"input": str(item), "error": why} for item, why in examples.skipped]


def _checked(domain, args: list[str]) -> list[dict]:
    if domain.check_input is None:  # texts: every argument is an input
        return [{"input": item, "error": ""} for item in domain.read_inputs(args)]
    out = []
    for arg in args:
        if not Path(arg).exists():
            out.append({"input": arg, "error": "not found: no such file or folder"})
            continue
        found = list(domain.read_inputs([arg]))
        if not found:
            out.append({"input": arg, "error": f"folder holds no {domain.name} input files"})
        out += [{"input": str(item), "error": domain.check_input(item)} for item in found]
    return out


def _predict(run, items: list, batch_size: int) -> tuple[np.ndarray | None, dict]:
    """Outputs for ``items`` in one call; if that fails, item by item, so one file the
    checks let through costs its own row only. Returns ``(outputs, {index: reason})``."""
    if not items:
        return None, {}
    run.predictor  # noqa: B018 - a damaged run fails here, once, before any item
    try:
        return run.predict(items, batch_size=batch_size), {}
    except Exception:  # noqa: BLE001 - narrowed down per item below
        pass
    outputs, failed = [], {}
    for i, item in enumerate(items):
        try:
            outputs.append(run.predict([item], batch_size=1)[0])
        except Exception as exc:  # noqa: BLE001 - any decode/model error is this item's
            failed[i] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
    return (np.stack(outputs) if outputs else None), failed


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
    if "error" in row:
        return f"{row['input']}\terror: {row['error']}"
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
    fields += ["error"] if any("error" in r for r in table) else []
    fields += [f"{part}_{i + 1}" for i in range(k) for part in ("label", "score")]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for r in table:
        label = r.get("label", "")
        flat = {**r, "label": label if isinstance(label, str) else json.dumps(label)}
        for i, c in enumerate(r.get("top_k", [])):
            flat[f"label_{i + 1}"], flat[f"score_{i + 1}"] = c["label"], f"{c['score']:.6f}"
        writer.writerow(flat)
    atomic_write_text(path, buf.getvalue())


def _table(run, args) -> list[dict]:
    entries = _items(run, args)
    good = [e for e in entries if not e["error"]]
    outputs, failed = _predict(run, [e["input"] for e in good], args.batch_size)
    for i, why in failed.items():
        good[i]["error"] = why
    good = [e for i, e in enumerate(good) if i not in failed]
    if good:
        for entry, row in zip(good, rows(run, [e["input"] for e in good], outputs, args.top_k)):
            entry.update(row)
    return [{k: v for k, v in e.items() if k != "error" or v} for e in entries]


def cmd_predict(args) -> int:
    """Prints one row per input: the prediction, or ``error`` with the reason; exit code 1
    when any input failed (the others are still predicted and printed)."""
    from transferkit.common.output.rundir import load

    run = load(args.run_dir)
    table = _table(run, args)
    for row in table:
        print(json.dumps(row) if args.json else _line(row))
    done = [r for r in table if "error" not in r]
    failed = [r for r in table if "error" in r]
    if any("true" in r for r in done) and run.codec.task == "multiclass":
        right = sum(r["label"] == r["true"] for r in done if "true" in r)
        n = sum("true" in r for r in done)
        print(f"accuracy {right / n:.4f} ({right}/{n})", file=sys.stderr)
    if args.csv:
        _write_csv(args.csv, table)
        print(f"written to {args.csv}", file=sys.stderr)
    for r in failed:
        print(f"transferkit predict: {r['input']}: {r['error']}", file=sys.stderr)
    if failed:
        print(f"transferkit predict: {len(failed)} of {len(table)} inputs failed",
              file=sys.stderr)
    return 1 if failed else 0
