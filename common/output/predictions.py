"""What a run keeps of its evaluation for the report: ``predictions.npz`` and
``calibration.json``.

``predictions.npz`` holds, per labelled split, the model's (uncalibrated) outputs, the
encoded targets and the items (paths or texts), and a sample of the cached frozen-backbone
features for the report's 2-D map. ``calibration.json`` holds the temperature fitted on
validation with the ECE before and after (multiclass), or the per-label thresholds chosen on
validation (multilabel).

Example:
    >>> calibration = calibrate(codec, outputs, targets)  # doctest: +SKIP
    >>> save_predictions(run_dir, outputs, targets, items, features)  # doctest: +SKIP
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from transferkit.common.data.labels import LabelCodec
from transferkit.common.io import atomic_path, atomic_write_text
from transferkit.common.output import calibration as cal

PREDICTIONS = "predictions.npz"
CALIBRATION = "calibration.json"
MAP_SAMPLE = 2000


def calibrate(codec: LabelCodec, outputs: dict, targets: dict) -> dict:
    """Fit the run's calibration on ``outputs["validation"]``; score it on every split.

    Returns ``{}`` for regression or when there is no validation split.
    """
    if "validation" not in outputs or codec.task == "regression":
        return {}
    if codec.task == "multilabel":
        thresholds = cal.choose_thresholds(outputs["validation"], targets["validation"])
        return {"split": "validation",
                "thresholds": {n: float(t) for n, t in zip(codec.names, thresholds)}}
    temperature = cal.fit_temperature(outputs["validation"], targets["validation"])
    out = {"split": "validation", "bins": cal.BINS, "temperature": round(temperature, 6)}
    for split in outputs:
        prefix = "" if split == "validation" else f"{split}_"
        out[f"{prefix}ece_before"] = cal.expected_calibration_error(outputs[split], targets[split])
        out[f"{prefix}ece_after"] = cal.expected_calibration_error(
            cal.apply_temperature(outputs[split], temperature), targets[split])
    return out


def write_calibration(run_dir: Path, calibration: dict) -> None:
    if calibration:
        atomic_write_text(Path(run_dir) / CALIBRATION, json.dumps(calibration, indent=2) + "\n")


def read_calibration(run_dir: Path) -> dict:
    """The run's ``calibration.json``, or ``{}`` (runs trained before calibration existed)."""
    path = Path(run_dir) / CALIBRATION
    return json.loads(path.read_text()) if path.exists() else {}


def map_sample(features: dict | None, targets: dict, seed: int = 0) -> dict:
    """Up to 2,000 cached feature rows of the test split (else validation) for the map."""
    split = next((s for s in ("test", "validation") if features and s in features), None)
    if split is None:
        return {}
    n = len(features[split])
    rows = np.sort(np.random.default_rng(seed).permutation(n)[:MAP_SAMPLE])
    return {"map_features": np.asarray(features[split][rows], np.float32),
            "map_targets": np.asarray(targets[split])[rows], "map_split": np.array(split)}


def save_predictions(run_dir: Path, outputs: dict, targets: dict, items: dict,
                     extra: dict | None = None) -> Path:
    """Write ``predictions.npz`` atomically; ``extra`` adds arrays (the map sample)."""
    arrays = dict(extra or {})
    for split, values in outputs.items():
        arrays[f"{split}_outputs"] = np.asarray(values, np.float32)
        arrays[f"{split}_targets"] = np.asarray(targets[split])
        arrays[f"{split}_items"] = np.array([str(i) for i in items[split]])
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    path = Path(run_dir) / PREDICTIONS
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getvalue())
    return path
