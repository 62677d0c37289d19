"""Atomic file and directory writes: write to a temporary name, then rename."""
from __future__ import annotations

import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

MANIFEST = "run.json"  # written last by the trainer: a run directory without it is unfinished


def atomic_write_text(path: Path, text: str) -> None:
    # Not tempfile.mkstemp: its files are 0600, which would make every run file owner-only.
    with atomic_path(path) as tmp:
        tmp.write_text(text)


@contextmanager
def atomic_path(path: Path, suffix: str = ""):
    """Yield a temporary sibling path; on success it replaces ``path`` (file or folder).

    ``suffix`` ends the temporary name, for writers that choose the format by it (``.keras``).

    Example:
        >>> with atomic_path(Path("out/model.h5")) as tmp:  # doctest: +SKIP
        ...     model.save_weights(tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}{suffix}")
    _remove(tmp)
    remove_stale_temporaries(path.parent, f".{path.name}.")
    try:
        yield tmp
        if path.is_dir():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
            os.replace(tmp, path)
            _remove(old)
        else:
            os.replace(tmp, path)
    finally:
        _remove(tmp)


def remove_stale_temporaries(folder: Path, prefix: str = ".", recursive: bool = False) -> list:
    """Delete ``.NAME.tmp-PID*`` / ``.NAME.old-PID`` left in ``folder`` by a killed writer.

    Only those whose PID no longer runs: a live process may be writing one right now.

    Returns:
        The paths removed.
    """
    folder, removed = Path(folder), []
    if not folder.is_dir():
        return removed
    for path in (folder.rglob(f"{prefix}*") if recursive else folder.glob(f"{prefix}*")):
        match = _TEMPORARY.fullmatch(path.name)
        if match and not pid_alive(int(match.group(1))):
            _remove(path)
            removed.append(path)
    return removed


_TEMPORARY = re.compile(r"\..+\.(?:tmp|old)-(\d+)(?:\..*)?")


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (ours counts as alive)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink()
