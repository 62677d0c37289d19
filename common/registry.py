"""Backbone registry: a decorated function *is* the backbone's entry.

A backbone function returns a tf_keras model mapping the domain's model input to pooled
features ``[batch, dim]``. Its registration carries the domain, the input contract and
the known weight sources. Third-party packages add backbones through the entry-point
group ``transferkit.backbones``; each entry point names a module (or callable) that
registers backbones when imported.

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
import importlib
import sys
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable

from transferkit.common.contracts import Contract

ENTRY_POINT_GROUP = "transferkit.backbones"
BUILTIN_DOMAINS = ("vision", "text", "speech")
_DOMAIN_MODULES = {
    "vision": "transferkit.vision",
    "text": "transferkit.nlp",
    "speech": "transferkit.speech",
}


@dataclass(frozen=True)
class BackboneSpec:
    """What the registry knows about one backbone.

    Attributes:
        name: Registry name (``"mobilenet_v1"``).
        domain: ``"vision"``, ``"text"``, ``"speech"`` or a plugin's own.
        contract: The input contract (image size, tokenizer, sample rate, ...).
        builder: ``builder(weights=..., contract=..., **overrides) -> tf_keras.Model``.
        weight_sources: Named sources in preference order; the first is the default.
        description: One line for ``transferkit backbones``.
        licence: Licence of the default pretrained weights.
    """

    name: str
    domain: str
    contract: Contract
    builder: Callable[..., Any]
    weight_sources: tuple[str, ...] = ()
    description: str = ""
    licence: str = ""
    origin: str = field(default="", compare=False)

    @property
    def default_weights(self) -> str | None:
        return self.weight_sources[0] if self.weight_sources else None


class RegistryError(KeyError):
    """Unknown or duplicate backbone name."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable.
        return str(self.args[0])


_REGISTRY: dict[str, BackboneSpec] = {}
_loaded_domains: set[str] = set()
_entry_points_loaded = False


def register_backbone(name: str, *, domain: str, contract: Contract,
                      weight_sources: tuple[str, ...] | list[str] = (),
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
            weight_sources=tuple(weight_sources),
            description=doc if isinstance(doc, str) else (doc[0] if doc else ""),
            licence=licence, origin=f"{fn.__module__}.{fn.__qualname__}")
        return fn

    return decorate


def unregister_backbone(name: str) -> None:
    """Remove a backbone (tests and interactive use)."""
    _REGISTRY.pop(name, None)


def _load_domain(domain: str) -> None:
    module = _DOMAIN_MODULES.get(domain)
    if module is None or domain in _loaded_domains:
        return
    _loaded_domains.add(domain)
    try:
        importlib.import_module(module)
    except ImportError as exc:  # a domain whose extra isn't installed
        _loaded_domains.discard(domain)
        print(f"[transferkit] domain {domain!r} unavailable: {exc} "
              f"(pip install 'transferkit[{ 'nlp' if domain == 'text' else domain}]')",
              file=sys.stderr)


def load_entry_points(force: bool = False) -> list[str]:
    """Import every ``transferkit.backbones`` entry point; returns their names."""
    global _entry_points_loaded
    if _entry_points_loaded and not force:
        return []
    _entry_points_loaded = True
    loaded = []
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
            if callable(obj) and not isinstance(obj, type(sys)):
                obj()
        except RegistryError as exc:
            if force:  # a register() run a second time meets its own names
                loaded.append(ep.name)
            else:
                print(f"[transferkit] plugin {ep.name!r} ({ep.value}): {exc}", file=sys.stderr)
            continue
        except Exception as exc:  # a broken plugin must not break the toolkit
            print(f"[transferkit] plugin {ep.name!r} ({ep.value}) failed to load: "
                  f"{type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        loaded.append(ep.name)
    return loaded


def _ensure_loaded(domain: str | None = None) -> None:
    for name in ([domain] if domain in _DOMAIN_MODULES else BUILTIN_DOMAINS):
        _load_domain(name)
    load_entry_points()


def get_backbone_spec(name: str) -> BackboneSpec:
    """The :class:`BackboneSpec` for ``name``, loading domains and plugins as needed."""
    if name not in _REGISTRY:
        _ensure_loaded()
    if name not in _REGISTRY:
        close = [n for n in _REGISTRY if name.split("_")[0] in n][:5]
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise RegistryError(
            f"unknown backbone {name!r}.{hint} `transferkit backbones` lists them all.")
    return _REGISTRY[name]


def list_backbones(domain: str | None = None, pattern: str = "*") -> list[str]:
    """Sorted backbone names, optionally of one domain and matching a glob."""
    _ensure_loaded(domain)
    return sorted(n for n, s in _REGISTRY.items()
                  if (domain is None or s.domain == domain) and fnmatch.fnmatch(n, pattern))


def create_backbone(name: str, weights: Any = "default", **overrides):
    """Build backbone ``name`` as a tf_keras model ``inputs -> [batch, dim]``.

    Args:
        name: Registry name.
        weights: ``"default"`` (the first registered source), ``None`` or ``"none"`` for
            random init, a named source (``"imagenet"``) or a local path. Resolution and the error when
            weights can't be had are in :mod:`transferkit.common.weights`.
        **overrides: Contract fields (``size=96``) and builder options.

    Example:
        >>> model = create_backbone("mobilenet_v2", weights=None, size=96)  # doctest: +SKIP
    """
    spec = get_backbone_spec(name)
    if isinstance(weights, str) and weights.lower() == "none":
        weights = None
    elif weights == "default":
        weights = spec.default_weights
    contract_fields = {f.name for f in dataclasses.fields(spec.contract)}
    contract = dataclasses.replace(
        spec.contract, **{k: v for k, v in overrides.items() if k in contract_fields})
    options = {k: v for k, v in overrides.items() if k not in contract_fields}
    model = spec.builder(weights=weights, contract=contract, **options)
    if getattr(model, "_transferkit_contract", None) is None:  # a builder may refine it
        model._transferkit_contract = contract  # read by the pipeline and by save/reload
    return model


def resolved_contract(name: str, **overrides) -> Contract:
    """The contract of ``name`` with overrides applied (no model is built)."""
    spec = get_backbone_spec(name)
    fields = {f.name for f in dataclasses.fields(spec.contract)}
    return dataclasses.replace(spec.contract, **{k: v for k, v in overrides.items() if k in fields})
