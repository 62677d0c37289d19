"""Read a run directory into one frozen value; every missing file becomes a note, not an error.

The report draws whatever the run left behind: an older run has no ``predictions.npz`` or
``calibration.json``, a run still in phase 1 has no ``metrics.json`` yet.

Example:
    >>> run = read_run("runs/flowers")  # doctest: +SKIP
    >>> run.task, run.labels[:2], run.missing  # doctest: +SKIP
    ('multiclass', ('daisy', 'rose'), {})
"""
from __future__ import annotations

import csv
import dataclasses
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from transferkit.common.config import load_config

SPLITS = ("test", "validation")  # the order the report prefers them in


@dataclass(frozen=True)
class SplitPredictions:
    """One split's saved model outputs (uncalibrated), targets and item names or texts."""

    name: str
    outputs: np.ndarray
    targets: np.ndarray
    items: np.ndarray


@dataclass(frozen=True)
class RunInputs:
    """What a run directory holds, as read by :func:`read_run`.

    Attributes:
        run_dir: The run directory.
        config: ``config.json`` as nested plain dicts (empty when missing).
        labels: Class names, from ``labels.txt`` or else ``metrics.json``.
        metrics: ``metrics.json`` (empty when missing).
        history: ``history.csv`` rows as dicts of strings.
        predictions: ``predictions.npz`` splits present, test first.
        map_features: ``map_features`` (``[m, d]``) or None.
        map_targets: ``map_targets`` or None.
        map_split: ``map_split``: which split the map's features come from.
        calibration: ``calibration.json`` (empty when missing).
        missing: One note per file that is absent or unreadable, keyed by file name.
    """

    run_dir: Path
    config: dict = field(default_factory=dict)
    labels: tuple[str, ...] = ()
    metrics: dict = field(default_factory=dict)
    history: tuple[dict, ...] = ()
    predictions: tuple[SplitPredictions, ...] = ()
    map_features: np.ndarray | None = None
    map_targets: np.ndarray | None = None
    map_split: str = ""
    calibration: dict = field(default_factory=dict)
    missing: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.run_dir.resolve().name

    @property
    def domain(self) -> str:
        return self.config.get("domain", "")

    @property
    def task(self) -> str:
        return self.metrics.get("task") or self.config.get("head", {}).get("task", "multiclass")

    def split_metrics(self) -> tuple[str, dict]:
        """The test split's metrics, else validation's: ``(split name, metrics)``."""
        for split in SPLITS:
            if isinstance(self.metrics.get(split), dict):
                return split, self.metrics[split]
        return "", {}

    def split_predictions(self) -> SplitPredictions | None:
        """The test split's predictions, else validation's, else None."""
        return self.predictions[0] if self.predictions else None


def read_json(path: Path) -> dict:
    """A JSON object from ``path``; ``ValueError`` naming the file when it can't be read.

    Example:
        >>> read_json(Path("runs/flowers/metrics.json"))["task"]  # doctest: +SKIP
        'multiclass'
    """
    try:
        value = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read ({exc.__class__.__name__}: {exc})") from exc
    if not isinstance(value, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(value).__name__}")
    return value


def read_config(path: Path) -> dict:
    """``config.json`` through :func:`load_config` (so defaults are filled in), as dicts."""
    if not Path(path).is_file():
        raise ValueError(f"{path}: no such file")
    return dataclasses.asdict(load_config(path))


def read_run(run_dir) -> RunInputs:
    """Everything the report needs from ``run_dir``; nothing here raises for a missing file.

    Example:
        >>> read_run("runs/flowers").missing  # doctest: +SKIP
        {'predictions.npz': 'no predictions.npz: re-run training with this version'}
    """
    run_dir, missing = Path(run_dir), {}
    config = _optional(run_dir, "config.json", read_config, missing)
    metrics = _optional(run_dir, "metrics.json", read_json, missing)
    calibration = _optional(run_dir, "calibration.json", read_json, missing)
    history = _optional(run_dir, "history.csv", _read_history, missing)
    arrays = _optional(run_dir, "predictions.npz", _read_npz, missing)
    labels = _read_labels(run_dir / "labels.txt", metrics or {})
    if not labels:
        missing["labels.txt"] = "no labels.txt: class indices stand in for class names"
    arrays = arrays or {}
    return RunInputs(run_dir=run_dir, config=config or {}, labels=labels, metrics=metrics or {},
                     history=tuple(history or ()), predictions=_splits(arrays),
                     map_features=arrays.get("map_features"),
                     map_targets=arrays.get("map_targets"),
                     map_split=str(arrays.get("map_split", "")), calibration=calibration or {},
                     missing=missing)


def _optional(run_dir: Path, name: str, read, missing: dict):
    path = run_dir / name
    if not path.is_file():
        missing[name] = f"no {name}" + _HINTS.get(name, "")
        return None
    try:
        return read(path)
    except (ValueError, OSError, KeyError, zipfile.BadZipFile) as exc:
        missing[name] = f"{name} is unreadable ({exc})"
    return None


# Files that older versions of the trainer did not write yet.
_HINTS = {"predictions.npz": ": re-run training with this version",
          "calibration.json": ": re-run training with this version"}


def _read_history(path: Path) -> list[dict]:
    with Path(path).open(newline="") as f:
        return [dict(row) for row in csv.DictReader(f)]


def _read_npz(path: Path) -> dict:
    # allow_pickle=False: a run directory may come from someone else; strings are '<U'.
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def _splits(arrays: dict) -> tuple[SplitPredictions, ...]:
    found = []
    for split in SPLITS:
        if f"{split}_outputs" in arrays and f"{split}_targets" in arrays:
            outputs = np.asarray(arrays[f"{split}_outputs"], dtype=np.float64)
            if outputs.ndim == 1:
                outputs = outputs[:, None]
            items = arrays.get(f"{split}_items", np.array([f"#{i}" for i in range(len(outputs))]))
            found.append(SplitPredictions(split, outputs, np.asarray(arrays[f"{split}_targets"]),
                                          np.asarray(items).astype(str)))
    return tuple(found)


def _read_labels(path: Path, metrics: dict) -> tuple[str, ...]:
    if path.is_file():
        names = tuple(line for line in path.read_text().splitlines() if line)
        if names:
            return names
    for split in SPLITS:
        found = metrics.get(split) or {}
        names = found.get("labels") or list(found.get("per_class") or found.get("per_label") or ())
        if names:
            return tuple(str(n) for n in names)
    return ()
