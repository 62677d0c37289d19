"""Training callbacks: atomic best checkpoints, CSV history with a phase column, resume state."""
from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from transferkit.common.io import atomic_path, atomic_write_text
from transferkit.common.keras import keras, tf


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
    """After each epoch save the last weights, the optimizer state and ``{phase, epoch}``
    so a run can resume exactly.

    ``<phase>_last/`` is one ``tf.train.Checkpoint`` (model, optimizer(s), the epoch) that
    is renamed into place whole: a kill leaves the previous epoch's or this one's, never a
    mix; ``<phase>_last_weights.h5`` and ``state.json`` follow it.
    """

    def __init__(self, directory: Path, phase: str, model_to_save=None):
        super().__init__()
        self.dir, self.phase, self._target = Path(directory), phase, model_to_save

    def on_epoch_end(self, epoch, logs=None):
        target = self._target or self.model
        with atomic_path(self.dir / f"{self.phase}_last") as tmp:
            tmp.mkdir()
            epoch_var = tf.Variable(epoch + 1, dtype=tf.int64)
            training_checkpoint(target, self.model, epoch_var).write(str(tmp / "ckpt"))
        weights = self.dir / f"{self.phase}_last_weights.h5"
        with atomic_path(weights) as tmp:
            target.save_weights(str(tmp), save_format="h5")
        state = read_state(self.dir)
        state[self.phase] = {"epoch": epoch + 1, "done": False}
        write_state(self.dir, state)


def training_checkpoint(target, trained, epoch_var):
    """``tf.train.Checkpoint`` of ``target``'s weights, the optimizer(s) of the model that
    ``fit`` trains (``trained``: the head optimizer and, for two learning rates, the
    backbone's) and the epoch count."""
    # The weights as a list, not the model: a model's checkpoint also takes a nested,
    # separately compiled head's optimizer, which a resumed phase 2 never builds.
    parts = {"weights": list(target.weights), "optimizer": trained.optimizer,
             "epoch": epoch_var}
    if getattr(trained, "_backbone_optimizer", None) is not None:
        parts["backbone_optimizer"] = trained._backbone_optimizer
    return tf.train.Checkpoint(**parts)


def restore_training(directory: Path, phase: str, target, trained) -> int | None:
    """Restore ``<phase>_last/`` into ``target`` and ``trained``'s built optimizer(s).

    Returns:
        The epoch to continue from, or None when there is no such checkpoint.
    """
    prefix = Path(directory) / f"{phase}_last" / "ckpt"
    if not prefix.with_suffix(".index").is_file():
        return None
    build_optimizers(trained)
    epoch_var = tf.Variable(0, dtype=tf.int64)
    training_checkpoint(target, trained, epoch_var).read(str(prefix)).assert_consumed()
    return int(epoch_var.numpy())


def build_optimizers(model) -> None:
    """Create the optimizer slots now, over the variables ``train_step`` gives each, so a
    checkpoint restores into them (the slots are matched by position)."""
    variables = model.trainable_variables
    body_ids = getattr(model, "_backbone_var_ids", frozenset())
    if getattr(model, "_backbone_optimizer", None) is not None:
        model._backbone_optimizer.build([v for v in variables if id(v) in body_ids])
        variables = [v for v in variables if id(v) not in body_ids]
    model.optimizer.build(variables)


def read_state(directory: Path) -> dict:
    path = Path(directory) / "state.json"
    return json.loads(path.read_text()) if path.exists() else {}


def write_state(directory: Path, state: dict) -> None:
    atomic_write_text(Path(directory) / "state.json", json.dumps(state, indent=2))
