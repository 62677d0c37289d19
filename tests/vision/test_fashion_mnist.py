"""Fashion-MNIST: idx reading and class folders offline; the real Debian package opt-in."""
import gzip
import struct

import numpy as np
import pytest

from transferkit.common.data.assets import AssetError
from transferkit.common.data.splits import per_class_indices
from transferkit.vision import fashion_mnist as fm


def _write_idx(path, array, code, compress):
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.mark.parametrize("dtype,code,compress", [
    (np.uint8, 0x08, True), (np.int32, 0x0C, False), (np.float32, 0x0D, True)])
def test_read_idx_roundtrip(tmp_path, dtype, code, compress):
    array = (np.arange(2 * 3 * 4) - 5).reshape(2, 3, 4).astype(dtype)
    got = fm.read_idx(_write_idx(tmp_path / "a.idx", array, code, compress))
    assert got.dtype == np.dtype(dtype) and got.dtype.isnative
    np.testing.assert_array_equal(got, array)


def test_read_idx_rejects_bad_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01" + bytes(8))
    with pytest.raises(ValueError, match="not an idx"):
        fm.read_idx(tmp_path / "bad")
    labels = _write_idx(tmp_path / "short", np.zeros(10, np.uint8), 0x08, False)
    labels.write_bytes(labels.read_bytes()[:-3])
    with pytest.raises(ValueError, match="header says"):
        fm.read_idx(labels)


def test_store_refuses_a_hash_mismatch(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    fake = tmp_path / "t10k-labels-idx1-ubyte.gz"
    fake.write_bytes(b"not the real file")
    with pytest.raises(AssetError, match="refusing"):
        fm._store(fm.FASHION_MNIST_FILES[fake.name], fake)


def test_stratified_subset_is_balanced_and_seeded():
    labels = np.repeat(np.arange(10), 7)
    picked = per_class_indices(labels, 3, seed=1)
    assert np.bincount(labels[picked]).tolist() == [3] * 10
    np.testing.assert_array_equal(picked, per_class_indices(labels, 3, seed=1))
    assert per_class_indices(labels, None).size == 70
    with pytest.raises(ValueError):
        per_class_indices(labels, 8)


@pytest.fixture
def fake_split(monkeypatch):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (60, 28, 28), dtype=np.uint8)
    labels = np.repeat(np.arange(10), 6)
    monkeypatch.setattr(fm, "load_fashion_mnist", lambda split, quiet=False: (images, labels))
    return images, labels


def test_write_class_folders_layout_and_idempotence(tmp_path, fake_split):
    from PIL import Image

    images, labels = fake_split
    root = fm.write_class_folders(tmp_path, "train", per_class=2, quiet=True)
    assert root == tmp_path / "train"
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == sorted(fm.CLASS_NAMES)
    files = sorted(root.glob("*/*.png"))
    assert len(files) == 20
    index = int(files[0].stem)
    assert files[0].parent.name == fm.CLASS_NAMES[labels[index]]
    np.testing.assert_array_equal(np.asarray(Image.open(files[0])), images[index])

    stamp = files[0].stat().st_mtime_ns
    fm.write_class_folders(tmp_path, "train", per_class=2, quiet=True)
    assert files[0].stat().st_mtime_ns == stamp  # complete: left as it is
    fm.write_class_folders(tmp_path, "train", per_class=4, quiet=True)
    assert len(list(root.glob("*/*.png"))) == 40  # other arguments: rebuilt
    assert [p.name for p in tmp_path.iterdir()] == ["train"]  # no temporary leftovers


# --- real data: the Debian package, cached in the default transferkit cache --------------

@pytest.fixture(scope="session")
def real_fashion_mnist():
    return {split: fm.load_fashion_mnist(split, quiet=True) for split in fm.SPLITS}


@pytest.mark.real_weights
def test_real_fashion_mnist_shapes(real_fashion_mnist):
    (x_train, y_train), (x_test, y_test) = real_fashion_mnist["train"], real_fashion_mnist["test"]
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and x_test.dtype == np.uint8
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10
