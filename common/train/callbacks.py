"""Training callbacks: atomic best checkpoints, CSV history with a phase column, resume state."""
from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from transferkit.common.io import atomic_path, atomic_write_text
from transferkit.common.keras import keras


class AtomicBestCheckpoint(keras.callbacks.Callback):
    """Save weights when ``monitor`` improves, via a temp file + rename."""

    def __init__(self, path: Path, monitor: str = "val_loss", mode: str = "min",
                 model_to_save=None):
        super().__init__()
        self.path, self.monitor, self.mode = Path(path), monitor, mode
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch = -1
        self._target = model_to_save

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            return
        better = value < self.best if self.mode == "min" else value > self.best
        if better:
            self.best, self.best_epoch = float(value), epoch
            with atomic_path(self.path) as tmp:
                (self._target or self.model).save_weights(str(tmp), save_format="h5")


class PhaseHistory(keras.callbacks.Callback):
    """Append ``phase, epoch, metrics...`` rows to ``history.csv`` (rewritten atomically)."""

    def __init__(self, path: Path, phase: str):
        super().__init__()
        self.path, self.phase = Path(path), phase

    def on_epoch_end(self, epoch, logs=None):
        rows = []
        if self.path.exists():
            rows = list(csv.DictReader(self.path.open()))
        rows = [r for r in rows if not (r["phase"] == self.phase and int(r["epoch"]) >= epoch)]
        rows.append({"phase": self.phase, "epoch": epoch,
                     **{k: f"{float(v):.6g}" for k, v in (logs or {}).items()}})
        fields = ["phase", "epoch"] + sorted({k for r in rows for k in r} - {"phase", "epoch"})
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(self.path, buf.getvalue())


class ResumeState(keras.callbacks.Callback):
    """After each epoch save the last weights and ``{phase, epoch}`` so a run can resume."""

    def __init__(self, directory: Path, phase: str, model_to_save=None):
        super().__init__()
        self.dir, self.phase, self._target = Path(directory), phase, model_to_save

    def on_epoch_end(self, epoch, logs=None):
        weights = self.dir / f"{self.phase}_last_weights.h5"
        with atomic_path(weights) as tmp:
            (self._target or self.model).save_weights(str(tmp), save_format="h5")
        state = read_state(self.dir)
        state[self.phase] = {"epoch": epoch + 1, "done": False}
        write_state(self.dir, state)


def read_state(directory: Path) -> dict:
    path = Path(directory) / "state.json"
    return json.loads(path.read_text()) if path.exists() else {}


def write_state(directory: Path, state: dict) -> None:
    atomic_write_text(Path(directory) / "state.json", json.dumps(state, indent=2))
