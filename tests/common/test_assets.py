"""Derived files (conversions, extracted members) are trusted by a recorded sha256."""
import json

from transferkit.common.data.assets import record_sha256, sha256_of, verified_file

SOURCE = "a" * 64


def test_recorded_file_is_verified(tmp_path):
    path = tmp_path / "weights.h5"
    path.write_bytes(b"converted weights")
    assert record_sha256(path, SOURCE) == sha256_of(path)
    record = json.loads((tmp_path / "weights.h5.sha256.json").read_text())
    assert record == {"file": "weights.h5", "sha256": sha256_of(path), "source_sha256": SOURCE}
    assert verified_file(path, SOURCE) == path


def test_changed_missing_or_foreign_files_are_not_trusted(tmp_path):
    path = tmp_path / "weights.h5"
    path.write_bytes(b"converted weights")
    record_sha256(path, SOURCE)
    assert verified_file(path, "b" * 64) is None  # made from another source
    path.write_bytes(b"converted weightz")  # same size, one byte changed
    assert verified_file(path, SOURCE) is None
    (tmp_path / "weights.h5.sha256.json").write_text("{not json")
    assert verified_file(path, SOURCE) is None
    (tmp_path / "weights.h5.sha256.json").unlink()
    assert verified_file(path, SOURCE) is None
    assert verified_file(tmp_path / "absent.h5", SOURCE) is None
