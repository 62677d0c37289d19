"""One trainer per run directory, and a run that loads only once it is whole.

A run directory is written in place (``--resume`` needs its checkpoints there), so what
marks it finished is its manifest, ``run.json`` (every file with its size and sha256),
written last. ``load()`` refuses a directory without one. A new training removes the old
manifest before it writes anything, so a retrain killed part-way never leaves new labels
beside an old model that loads. ``.transferkit.lock`` (pid, host, start time, held with
``fcntl.flock``, so a killed trainer's lock is free again) keeps a second trainer out.

Example:
    >>> with hold_run_dir(Path("runs/x")):  # doctest: +SKIP
    ...     start_run(Path("runs/x"), overwrite=False, resume=False)
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import time
from contextlib import contextmanager
from pathlib import Path

from transferkit.common.data.assets import sha256_of
from transferkit.common.io import MANIFEST, atomic_write_text, remove_stale_temporaries

LOCK = ".transferkit.lock"
# What a new training (not a resume) deletes first; the feature cache is keyed, so it stays.
OLD_RUN_FILES = ("checkpoints", "history.csv", "metrics.json", "saved_model", "export",
                 "model_weights.h5", "predictions.npz", "calibration.json", "report.html",
                 "skipped.txt", "MODEL_CARD.md", "parity.json", "data_checks.json",
                 "adaptation.json", "lr_find.json", "lr_find.png", "lora_adapters.npz",
                 "lora.json", "tensorboard", "curves.png", "confusion_matrix.png",
                 "reliability.png", "worst_examples.png", "feature_map.png", "regression.png",
                 "label_issues.png", "duplicates.png")


class RunDirBusyError(RuntimeError):
    """Another process trains into the same run directory; the message names its pid."""


@contextmanager
def hold_run_dir(run_dir: Path):
    """Hold ``run_dir``'s lock for the block; refuse when another process holds it."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunDirBusyError(f"{run_dir} is in use: another transferkit train writes it "
                                  f"({_holder(path)}); wait for it to end, or choose another "
                                  f"--out") from None
        try:  # the holder before us may have unlinked the file we locked: lock afresh
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    os.ftruncate(fd, 0)
    os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                             "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}).encode())
    try:
        yield
    finally:
        path.unlink(missing_ok=True)  # before the unlock: a waiter then locks a new file
        os.close(fd)


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "its lock file gives no pid yet"
    return f"pid {info.get('pid')} on {info.get('host')}, since {info.get('started')}"


def start_run(run_dir: Path, *, overwrite: bool, resume: bool) -> None:
    """Make ``run_dir`` ready for a training (the lock held): refuse to replace a finished
    run without ``overwrite``; remove its manifest first, then (not resuming) the old run's
    files and checkpoints; delete temporaries a killed writer left."""
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    if manifest is not None and not (overwrite or resume):
        raise FileExistsError(f"{run_dir} holds a finished run ({MANIFEST}); pass --overwrite "
                              f"(train_run(..., overwrite=True)) to replace it, or choose "
                              f"another --out")
    (run_dir / MANIFEST).unlink(missing_ok=True)  # from here on it does not load
    removed = remove_stale_temporaries(run_dir, recursive=True)
    if removed:
        print(f"[transferkit] removed {len(removed)} temporary file(s) a killed run left in "
              f"{run_dir}", flush=True)
    if resume:
        return
    for name in OLD_RUN_FILES:  # only the trainer's own names: --out may hold other files
        _remove(run_dir / name)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def read_manifest(run_dir: Path) -> dict | None:
    """``run.json`` of ``run_dir``, or None when it has none (or an unreadable one)."""
    try:
        return json.loads((Path(run_dir) / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


def write_manifest(run_dir: Path) -> dict:
    """Write ``run.json`` listing every file of the finished run (size, sha256): last."""
    run_dir, files = Path(run_dir), {}
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(run_dir).as_posix()
        if rel in (MANIFEST, LOCK) or path.name.startswith(".") or rel.startswith(
                ("features/", "tensorboard/", "checkpoints/")):  # training state, not the run
            continue
        files[rel] = {"size": path.stat().st_size, "sha256": sha256_of(path)}
    manifest = {"format": 1, "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "files": files}
    atomic_write_text(run_dir / MANIFEST, json.dumps(manifest, indent=1) + "\n")
    return manifest
