"""A backbone is a value: its model, its input contract, its unfreezing blocks, its spec.

:func:`transferkit.common.model.registry.create_backbone` returns one; the trainer, the feature
cache, freezing and the run loader take it. A builder returns a tf_keras model (its blocks
are then the leaf layers that own weights) or a :class:`Backbone` with its own contract
(a tokenizer folder found with the weights) or blocks (transformer blocks).

A model built outside the registry becomes a backbone with :func:`as_backbone`.

Example:
    >>> backbone = as_backbone(my_keras_model, ImageContract(size=96))  # doctest: +SKIP
    >>> backbone.output_shape  # doctest: +SKIP
    (1280,)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from transferkit.common.model.contracts import Contract


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
