"""Atomic file and directory writes: write to a temporary name, then rename."""
from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path


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


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink()
