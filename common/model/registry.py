"""Backbone registry: a decorated function *is* the backbone's entry.

A backbone function returns a tf_keras model mapping the domain's model input to pooled
features ``[batch, dim]``. Its registration carries the domain, the input contract and
the known weight sources. Built-in domains and third-party packages are found the same way,
through entry points (:mod:`transferkit.common.plugins`).

Example:
    >>> @register_backbone("tiny_cnn", domain="vision",
    ...                    contract=ImageContract(size=32, scaling="unit"))
    ... def tiny_cnn(weights=None, contract=None, **kw):
    ...     ...
    >>> model = create_backbone("tiny_cnn", weights=None)  # doctest: +SKIP
"""
from __future__ import annotations

import dataclasses
import fnmatch
from dataclasses import dataclass, field
from typing import Any, Callable

from transferkit.common.model.backbone import Backbone, as_backbone
from transferkit.common.model.contracts import Contract
from transferkit.common.plugins import UnknownName, entry_points, load_plugins
from transferkit.common.model.weights import WeightSource, as_source, resolve_weights



@dataclass(frozen=True)
class BackboneSpec:
    """What the registry knows about one backbone.

    Attributes:
        name: Registry name (``"mobilenet_v1"``).
        domain: ``"vision"``, ``"text"``, ``"speech"`` or a plugin's own.
        contract: The input contract (image size, tokenizer, sample rate, ...).
        builder: ``builder(weights=..., contract=..., **overrides)`` returning a tf_keras
            model or a :class:`~transferkit.common.model.backbone.Backbone`; ``weights`` is what
            :func:`~transferkit.common.model.weights.resolve_weights` gave (None, a Path, a handle).
        weight_sources: :class:`~transferkit.common.model.weights.WeightSource` values in
            preference order; the first is the default.
        description: One line for ``transferkit backbones``.
        licence: Licence of the default pretrained weights.
    """

    name: str
    domain: str
    contract: Contract
    builder: Callable[..., Any]
    weight_sources: tuple[WeightSource, ...] = ()
    description: str = ""
    licence: str = ""
    origin: str = field(default="", compare=False)

    @property
    def default_weights(self) -> str | None:
        return self.weight_sources[0].name if self.weight_sources else None

    @property
    def source_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.weight_sources)


class RegistryError(KeyError):
    """A duplicate backbone name."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable.
        return str(self.args[0])


class UnknownBackbone(UnknownName, RegistryError):
    """No loaded plugin registered this backbone name."""


_REGISTRY: dict[str, BackboneSpec] = {}


def register_backbone(name: str, *, domain: str, contract: Contract,
                      weight_sources: tuple = (),
                      description: str = "", licence: str = ""):
    """Decorator that registers a backbone builder under ``name``.

    Raises:
        RegistryError: if ``name`` is already registered.
    """

    def decorate(fn):
        if name in _REGISTRY:
            raise RegistryError(
                f"backbone {name!r} is already registered (by {_REGISTRY[name].origin}); "
                f"pick another name")
        doc = description or (fn.__doc__ or "").strip().splitlines()[0:1]
        _REGISTRY[name] = BackboneSpec(
            name=name, domain=domain, contract=contract, builder=fn,
            weight_sources=tuple(as_source(s) for s in weight_sources),
            description=doc if isinstance(doc, str) else (doc[0] if doc else ""),
            licence=licence, origin=f"{fn.__module__}.{fn.__qualname__}")
        return fn

    return decorate


def unregister_backbone(name: str) -> None:
    """Remove a backbone (tests and interactive use)."""
    _REGISTRY.pop(name, None)


def get_backbone_spec(name: str) -> BackboneSpec:
    """The :class:`BackboneSpec` for ``name``, loading domains and plugins as needed."""
    if name not in _REGISTRY:
        load_plugins()
    if name not in _REGISTRY:
        close = [n for n in _REGISTRY if name.split("_")[0] in n][:5]
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise UnknownBackbone(
            f"unknown backbone {name!r}.{hint} `transferkit backbones` lists them all.")
    return _REGISTRY[name]


def list_backbones(domain: str | None = None, pattern: str = "*") -> list[str]:
    """Sorted backbone names, optionally of one domain and matching a glob."""
    load_plugins(domain) if domain and entry_points(domain) else load_plugins()
    return sorted(n for n, s in _REGISTRY.items()
                  if (domain is None or s.domain == domain) and fnmatch.fnmatch(n, pattern))


def create_backbone(name: str, weights: Any = "default", **overrides) -> Backbone:
    """Build backbone ``name``: a :class:`~transferkit.common.model.backbone.Backbone` value.

    Args:
        name: Registry name.
        weights: ``"default"`` (the first registered source), ``None`` or ``"none"`` for
            random init, a source's name (``"imagenet"``), a handle or a local path; resolved
            by :func:`~transferkit.common.model.weights.resolve_weights`, which raises the error
            when weights can't be had.
        **overrides: Contract fields (``size=96``) and builder options.

    Example:
        >>> backbone = create_backbone("mobilenet_v2", weights=None, size=96)  # doctest: +SKIP
        >>> backbone.model, backbone.contract  # doctest: +SKIP
    """
    spec = get_backbone_spec(name)
    resolved = resolve_weights(spec, weights)
    contract_fields = {f.name for f in dataclasses.fields(spec.contract)}
    contract = dataclasses.replace(
        spec.contract, **{k: v for k, v in overrides.items() if k in contract_fields})
    options = {k: v for k, v in overrides.items() if k not in contract_fields}
    built = as_backbone(spec.builder(weights=resolved, contract=contract, **options), contract)
    return dataclasses.replace(built, spec=spec, weights=resolved)
