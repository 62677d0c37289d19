"""Atomic writes: a writer that fails leaves the old file or folder as it was."""
import os
import stat

import pytest

from transferkit.common.io import atomic_path, atomic_write_text


class Boom(Exception):
    pass


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_write_text_replaces_and_creates_parents(tmp_path):
    target = tmp_path / "a" / "b" / "metrics.json"
    atomic_write_text(target, "one\n")
    atomic_write_text(target, "two\n")
    assert target.read_text() == "two\n" and _leftovers(target.parent) == []


def test_failed_write_text_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "config.json"
    target.write_text("old")
    with pytest.raises(TypeError):
        atomic_write_text(target, None)  # fails inside the write
    assert target.read_text() == "old" and _leftovers(tmp_path) == []

    def no_rename(src, dst):
        raise Boom("rename failed")

    monkeypatch.setattr(os, "replace", no_rename)
    with pytest.raises(Boom):
        atomic_write_text(target, "new")
    assert target.read_text() == "old" and _leftovers(tmp_path) == []


def test_write_text_gets_the_same_permissions_as_a_plain_write(tmp_path):
    """Run files are shared (served, copied): they must not become owner-only."""
    (tmp_path / "plain.txt").write_text("x")
    atomic_write_text(tmp_path / "atomic.txt", "x")
    mode = lambda name: stat.S_IMODE((tmp_path / name).stat().st_mode)  # noqa: E731
    assert mode("atomic.txt") == mode("plain.txt")


def test_atomic_path_replaces_a_file_on_success(tmp_path):
    target = tmp_path / "model.h5"
    target.write_bytes(b"old")
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target and not tmp.exists()
        tmp.write_bytes(b"new")
        assert target.read_bytes() == b"old"  # not visible until the block ends
    assert target.read_bytes() == b"new" and _leftovers(tmp_path) == []


def test_atomic_path_keeps_the_old_file_when_the_writer_raises(tmp_path):
    target = tmp_path / "model.h5"
    target.write_bytes(b"old")
    with pytest.raises(Boom):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise Boom()
    assert target.read_bytes() == b"old" and _leftovers(tmp_path) == []


def test_atomic_path_swaps_whole_folders(tmp_path):
    target = tmp_path / "saved_model"
    target.mkdir()
    (target / "saved_model.pb").write_bytes(b"old")
    (target / "stale.txt").write_text("from the old export")
    with pytest.raises(Boom):
        with atomic_path(target) as tmp:
            tmp.mkdir()
            (tmp / "saved_model.pb").write_bytes(b"half")
            raise Boom()
    assert (target / "saved_model.pb").read_bytes() == b"old" and _leftovers(tmp_path) == []
    with atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "saved_model.pb").write_bytes(b"new")
    assert sorted(p.name for p in target.iterdir()) == ["saved_model.pb"]
    assert (target / "saved_model.pb").read_bytes() == b"new" and _leftovers(tmp_path) == []


def test_atomic_path_clears_a_stale_temporary(tmp_path):
    """A crash can leave the temporary name behind; the next write starts clean."""
    target = tmp_path / "weights.h5"
    stale = tmp_path / f".weights.h5.tmp-{os.getpid()}"
    stale.write_bytes(b"crashed")
    with atomic_path(target) as tmp:
        assert not tmp.exists()
        tmp.write_bytes(b"ok")
    assert target.read_bytes() == b"ok" and _leftovers(tmp_path) == []
