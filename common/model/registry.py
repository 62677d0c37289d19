"""Backbone registry: a decorated function *is* the backbone's entry; what it builds is a value.

:func:`create_backbone` returns a :class:`Backbone`: its model, its input contract, its
unfreezing blocks, its spec and the weights it loaded. The trainer, the feature cache,
freezing and the run loader take that value. A builder returns a tf_keras model (its blocks
are then the leaf layers that own weights) or a :class:`Backbone` with its own contract (a
tokenizer folder found with the weights) or blocks (transformer blocks). A model built
outside the registry becomes a backbone with :func:`as_backbone`.

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

from transferkit.common.model.contracts import Contract
from transferkit.common.plugins import UnknownName, entry_points, load_plugins
from transferkit.common.model.weights import WeightSource, as_source, resolve_weights



@dataclass(frozen=True, eq=False)
class Backbone:
    """A built backbone: ``model`` maps the contract's input to features ``[batch, ...]``.

    Attributes:
        model: The tf_keras model.
        contract: The input contract the pipeline and the exported model follow.
        blocks: The units "unfreeze top N" counts, bottom to top.
        spec: The registry entry it was built from (None for an outside model).
        weights: What was loaded: None (random init), a local Path, or a download handle.
    """

    model: Any
    contract: Contract | None = None
    blocks: tuple = ()
    spec: Any = None
    weights: Any = None

    @property
    def name(self) -> str:
        return self.spec.name if self.spec is not None else self.model.name

    @property
    def output_shape(self) -> tuple:
        """Feature shape without the batch axis."""
        return tuple(self.model.output_shape[1:])


def weighted_leaves(model) -> list:
    """The leaf layers of ``model`` (nested models opened) that own weights, bottom to top."""
    return [layer for layer in _leaves(model) if layer.weights]


def _leaves(layer) -> list:
    inner = getattr(layer, "layers", None)
    if not inner:
        return [layer]
    return [leaf for sub in inner for leaf in _leaves(sub)]


def as_backbone(model, contract: Contract | None = None, blocks=None) -> Backbone:
    """``model`` as a :class:`Backbone` (a Backbone is returned with the gaps filled).

    Raises:
        ValueError: when no contract is known: the pipeline needs one.
    """
    if isinstance(model, Backbone):
        found = model
    else:
        found = Backbone(model)
    contract = found.contract or contract
    if contract is None:
        raise ValueError(
            f"backbone {found.name!r} has no input contract: wrap the model with "
            f"transferkit.as_backbone(model, ImageContract(...) / TextContract(...) / "
            f"AudioContract(...))")
    units = tuple(found.blocks or blocks or weighted_leaves(found.model))
    return Backbone(found.model, contract, units, found.spec, found.weights)


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
        groups: The natural block groups that gradual unfreezing and per-group learning
            rates use (:mod:`transferkit.common.model.blocks`): the names of the blocks that
            start each group, bottom to top, or ``fn(backbone) -> [(name, [blocks])]``;
            empty: the builder's own blocks, else grouped by layer-name prefix.
        fine_tune_lr: Phase 2's head learning rate for this backbone when the run leaves
            ``train.fine_tune_learning_rate`` at 0 (its default); 0 here = the project's
            :data:`DEFAULT_FINE_TUNE_LR`. Set it from a measurement (the benchmark
            ``fine_tune_strategies.py``), not a guess.
    """

    name: str
    domain: str
    contract: Contract
    builder: Callable[..., Any]
    weight_sources: tuple[WeightSource, ...] = ()
    description: str = ""
    licence: str = ""
    origin: str = field(default="", compare=False)
    groups: Any = ()
    fine_tune_lr: float = 0.0

    @property
    def default_weights(self) -> str | None:
        return self.weight_sources[0].name if self.weight_sources else None

    @property
    def source_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.weight_sources)


DEFAULT_FINE_TUNE_LR = 1e-4  # phase 2's head LR where neither the run nor the backbone sets one


def fine_tune_lr(spec: "BackboneSpec | None") -> float:
    """The phase-2 head learning rate a run with ``fine_tune_learning_rate=0`` trains at."""
    return spec.fine_tune_lr if spec is not None and spec.fine_tune_lr > 0 else \
        DEFAULT_FINE_TUNE_LR


class RegistryError(KeyError):
    """A duplicate backbone name."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable.
        return str(self.args[0])


class UnknownBackbone(UnknownName, RegistryError):
    """No loaded plugin registered this backbone name."""


_REGISTRY: dict[str, BackboneSpec] = {}


def register_backbone(name: str, *, domain: str, contract: Contract,
                      weight_sources: tuple = (),
                      description: str = "", licence: str = "", groups: Any = (),
                      fine_tune_lr: float = 0.0):
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
            licence=licence, origin=f"{fn.__module__}.{fn.__qualname__}", groups=groups,
            fine_tune_lr=float(fine_tune_lr))
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
