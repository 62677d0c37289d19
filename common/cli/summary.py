"""The one-screen summary ``transferkit train`` prints at the end (or its ``--json`` form).

Example:
    >>> print(summary_text(summary(run_dir, metrics)))  # doctest: +SKIP
    run        runs/flowers
    ...
"""
from __future__ import annotations

import csv
from pathlib import Path

from transferkit.common.output.evaluate import headline

FILES = ("report.html", "metrics.json", "saved_model", "model.keras", "model_weights.h5",
         "predictions.npz", "calibration.json", "history.csv", "MODEL_CARD.md", "skipped.txt")


def best_epoch(run_dir: Path, phase: str, monitor: str = "val_loss") -> dict | None:
    """The ``history.csv`` row of ``phase`` with the lowest ``monitor``, or None."""
    path = Path(run_dir) / "history.csv"
    if not path.exists():
        return None
    rows = [r for r in csv.DictReader(path.open()) if r["phase"] == phase and r.get(monitor)]
    if not rows:
        return None
    best = min(rows, key=lambda r: float(r[monitor]))
    return {"epoch": int(best["epoch"]) + 1, "of": len(rows), monitor: float(best[monitor])}


def summary(run_dir: Path, metrics: dict) -> dict:
    """The figures worth a glance after training, as JSON-able values."""
    run_dir = Path(run_dir)
    head = metrics.get("head") or {}
    out = {"run_dir": str(run_dir), "backbone": metrics.get("backbone"),
           "weights": metrics.get("weights"), "task": metrics.get("task"),
           "phase1": {"solver": head.get("solver"), "chosen": head.get("chosen")},
           "phase2": best_epoch(run_dir, "phase2"),
           "timing": metrics.get("timing", {}),
           "files": [name for name in FILES if (run_dir / name).exists()]}
    for split in ("validation", "test"):
        if split in metrics:
            out[split] = {k: v for k, v in metrics[split].items()
                          if isinstance(v, (int, float)) and not isinstance(v, bool)}
    calibration = metrics.get("calibration") or {}
    if "temperature" in calibration:
        out["calibration"] = {k: calibration[k] for k in calibration
                              if k == "temperature" or "ece" in k}
    return out


def summary_text(s: dict) -> str:
    """``summary`` as aligned lines for the console."""
    lines = [f"{'run':<11}{s['run_dir']}",
             f"{'backbone':<11}{s['backbone']} (weights {s['weights']}), {s['task']}"]
    p1 = s["phase1"]
    if p1.get("solver"):
        chosen = ", ".join(f"{k}={v:g}" for k, v in (p1.get("chosen") or {}).items())
        lines.append(f"{'phase 1':<11}{p1['solver']} head, chose {chosen} on validation")
    if s.get("phase2"):
        p2 = s["phase2"]
        lines.append(f"{'phase 2':<11}best epoch {p2['epoch']} of {p2['of']} "
                     f"(val_loss {p2['val_loss']:.4f})")
    for split in ("validation", "test"):
        if split in s:
            extra = (f"  (majority class {s[split]['majority_baseline']:.4f})"
                     if "majority_baseline" in s[split] else "")
            lines.append(f"{split:<11}{headline(s[split])}{extra}")
    if "calibration" in s:
        c = s["calibration"]
        key = "test_ece" if "test_ece_before" in c else "ece"
        lines.append(f"{'calibrated':<11}temperature {c['temperature']:.3f}: ECE "
                     f"{c[key + '_before']:.4f} -> {c[key + '_after']:.4f}"
                     f" ({'test' if key == 'test_ece' else 'validation'})")
    timing = s.get("timing") or {}
    if timing:
        lines.append(f"{'time':<11}" + ", ".join(f"{k[:-2]} {v:.1f} s" for k, v in timing.items()))
    lines.append(f"{'files':<11}" + ", ".join(s["files"]))
    return "\n".join(lines)
