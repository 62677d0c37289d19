"""Freezing and unfreezing backbones for the two training phases.

BatchNorm layers stay frozen during fine-tuning: in tf_keras a BatchNormalization layer
with ``trainable=False`` runs in inference mode, so its moving statistics — learnt on the
large pretraining set — are not wrecked by small fine-tuning batches (the Keras
transfer-learning guide's advice).
"""
from __future__ import annotations

from contextlib import contextmanager

from transferkit.common.model.registry import Backbone, _leaves, weighted_leaves
from transferkit.common.keras import keras

_NORM_TYPES = (keras.layers.BatchNormalization,)


def blocks(backbone) -> list:
    """The units for "top N", bottom to top: a :class:`Backbone`'s own blocks, or the leaf
    layers that own weights of a plain model."""
    if isinstance(backbone, Backbone):
        return list(backbone.blocks)
    return weighted_leaves(backbone)


def freeze(backbone) -> None:
    """Freeze the whole backbone (a :class:`Backbone` or a model)."""
    _model(backbone).trainable = False


def _model(backbone):
    return backbone.model if isinstance(backbone, Backbone) else backbone


def unfreeze(backbone, top: int = 0, from_layer: str = "", train_bn: bool = False) -> list[str]:
    """Unfreeze the top ``top`` blocks, or every block from ``from_layer`` up (0/"" = all).

    ``backbone`` is a :class:`Backbone` (its blocks) or a plain model (its weighted leaves).
    BatchNorm layers are kept frozen (inference mode) unless ``train_bn``. Returns the
    unfrozen block names.

    Raises:
        ValueError: if ``from_layer`` is not a block of the model.

    Example:
        >>> unfreeze(backbone, top=20)  # doctest: +SKIP
    """
    units, model = blocks(backbone), _model(backbone)
    start = 0
    if from_layer:
        names = [u.name for u in units]
        if from_layer not in names:
            raise ValueError(f"unfreeze_from: no layer named {from_layer!r} in backbone "
                             f"{model.name!r}; some names: {names[-8:]}")
        start = names.index(from_layer)
    elif top:
        start = max(0, len(units) - top)
    train_only(backbone, units[start:], train_bn)
    return [u.name for u in units[start:]]


def train_only(backbone, trainable, train_bn: bool = False) -> None:
    """Make exactly the blocks in ``trainable`` trainable (BatchNorm frozen unless
    ``train_bn``); every other block of ``backbone`` is frozen."""
    chosen, model = {id(u) for u in trainable}, _model(backbone)
    model.trainable = True
    for unit in blocks(backbone):
        unit.trainable = id(unit) in chosen
    if not train_bn:
        for layer in _leaves(model):
            if isinstance(layer, _NORM_TYPES):
                layer.trainable = False


@contextmanager
def all_trainable(model: keras.Model):
    """Temporarily mark every layer trainable.

    Keras orders a layer's weights trainable-first, so an .h5 saved after partial
    unfreezing would not load into a freshly built model. Saving inside this context
    writes the canonical (freshly built) order.
    """
    leaves = [model] + _all_layers(model)
    flags = [la.trainable for la in leaves]
    for la in leaves:
        la.trainable = True
    try:
        yield model
    finally:
        for la, flag in zip(leaves, flags):
            la.trainable = flag


def _all_layers(layer) -> list:
    out = []
    for sub in getattr(layer, "layers", None) or []:
        out.append(sub)
        out.extend(_all_layers(sub))
    return out


def count_trainable(backbone) -> int:
    """Trainable parameters of a :class:`Backbone` or a model."""
    weights = _model(backbone).trainable_weights
    return int(sum(keras.backend.count_params(w) for w in weights))
