"""Low-rank adapters (LoRA, Hu et al. 2021) on the Dense layers of a frozen model.

:class:`LoRADense` computes ``W x + b + (alpha / rank) · B A x`` around a Dense layer it
holds frozen: ``A`` ``[in, rank]`` is random, ``B`` ``[rank, out]`` starts at zero, so an
adapted model starts out computing exactly what the plain one does. Only ``A`` and ``B``
train. :func:`attach` puts a wrapper in a parent layer's attribute; :func:`merge` folds
``(alpha / rank) · A B`` into the Dense kernel and puts the plain Dense back, so the model
that is saved and exported afterwards is the ordinary architecture with changed kernels.

Both keep the Dense at its place among the parent's tracked layers: Keras orders a
model's weights by that place, and the ``.h5`` files a run reloads match weights by order
(``query``, ``key`` and ``value`` kernels have one shape, so a shuffled order would load
without an error, and wrongly).

Example:
    >>> adapters = [attach(a, "query", rank=8, alpha=16) for a in attentions]  # doctest: +SKIP
    >>> model.fit(...)  # doctest: +SKIP
    >>> for attn in attentions: merge(attn, "query")  # doctest: +SKIP
"""
from __future__ import annotations

import math

import numpy as np

from transferkit.common.keras import keras, tf


class LoRADense(keras.layers.Layer):
    """``base(x) + (alpha / rank) · (x A) B`` with ``base``, a built Dense, frozen."""

    def __init__(self, base, rank: int, alpha: float, seed: int = 0, **kwargs):
        super().__init__(name=f"{base.name}_lora", **kwargs)
        if base.kernel.shape.rank != 2:
            raise ValueError(f"LoRA needs a 2-d Dense kernel; {base.name} has "
                             f"{base.kernel.shape}")
        self.base, self.rank, self.alpha = base, int(rank), float(alpha)
        self.scale = self.alpha / self.rank
        base.trainable = False
        fan_in, fan_out = base.kernel.shape
        limit = 1.0 / math.sqrt(fan_in)  # Kaiming-uniform(a=√5), as the reference code does
        prefix = base.kernel.name.rsplit("/", 1)[0]  # ".../query": unique names in an .h5
        with tf.name_scope(prefix + "/"):
            self.lora_a = self.add_weight(
                "lora_a", shape=(fan_in, self.rank), dtype=base.kernel.dtype,
                initializer=keras.initializers.RandomUniform(-limit, limit, seed=seed))
            self.lora_b = self.add_weight("lora_b", shape=(self.rank, fan_out),
                                          dtype=base.kernel.dtype, initializer="zeros")
        self.built = True

    def call(self, inputs):
        low = tf.tensordot(inputs, self.lora_a, axes=[[-1], [0]])
        return self.base(inputs) + self.scale * tf.tensordot(low, self.lora_b, axes=[[-1], [0]])

    def delta(self) -> np.ndarray:
        """What merging adds to the base kernel: ``(alpha / rank) · A B``."""
        return self.scale * (self.lora_a.numpy() @ self.lora_b.numpy())


def attach(parent, attr: str, rank: int, alpha: float, seed: int = 0) -> LoRADense:
    """Replace the Dense ``parent.<attr>`` by a :class:`LoRADense` around it.

    Raises:
        ValueError: when the attribute is not a built Dense layer.
    """
    base = getattr(parent, attr, None)
    if not isinstance(base, keras.layers.Dense) or not base.built:
        raise ValueError(f"LoRA: {type(parent).__name__}.{attr} is "
                         f"{type(base).__name__}, not a built Dense layer")
    wrapper = LoRADense(base, rank, alpha, seed=seed)
    _swap(parent, attr, wrapper)
    return wrapper


def merge(parent, attr: str) -> np.ndarray:
    """Fold the adapter of ``parent.<attr>`` into its Dense kernel and put the Dense back.

    Returns:
        The delta that was added to the kernel.
    """
    wrapper = getattr(parent, attr)
    if not isinstance(wrapper, LoRADense):
        raise ValueError(f"LoRA: {type(parent).__name__}.{attr} has no adapter to merge")
    delta = wrapper.delta()
    wrapper.base.kernel.assign(wrapper.base.kernel.numpy() + delta.astype(
        wrapper.base.kernel.dtype.as_numpy_dtype))
    # A predict function traced before the merge still calls the wrapper: with B at zero
    # it adds nothing to the merged kernel, so it computes what the plain layer now does.
    wrapper.lora_b.assign(np.zeros(wrapper.lora_b.shape, wrapper.lora_b.dtype.as_numpy_dtype))
    _swap(parent, attr, wrapper.base)
    return delta


def _swap(parent, attr: str, new) -> None:
    """``setattr(parent, attr, new)``, with ``new`` at the old layer's place in the order
    Keras walks the parent's layers (a plain setattr appends it last)."""
    tracked = getattr(parent, "_self_tracked_trackables", None)
    old = getattr(parent, attr)
    index = next((i for i, t in enumerate(tracked or ()) if t is old), None)
    setattr(parent, attr, new)
    tracked = getattr(parent, "_self_tracked_trackables", None)
    if index is None or tracked is None:
        return
    at = next(i for i, t in enumerate(tracked) if t is new)
    tracked.insert(index, tracked.pop(at))


def train_only(root, adapters) -> None:
    """Make the ``adapters``' low-rank weights the only trainable weights under ``root``.

    Raises:
        RuntimeError: when a layer on the way to an adapter owns weights of its own, which
            Keras could only train together with the adapters.
    """
    keep = {id(a) for a in adapters}
    above = {id(layer) for a in adapters for layer in _path(root, a)}

    def walk(layer):
        layer.trainable = True  # also sets every layer below: the children fix theirs
        for child in layer._flatten_layers(include_self=False, recursive=False):
            if id(child) in keep:
                child.base.trainable = False
            elif id(child) in above:
                walk(child)
            else:
                child.trainable = False

    walk(root)
    loose = [w.name for w in root.trainable_weights
             if not any(w is a.lora_a or w is a.lora_b for a in adapters)]
    if loose:
        raise RuntimeError(f"LoRA: weights {loose[:4]} would train with the adapters (their "
                           f"layer holds an adapted one); adapt another layer")


def _path(root, target) -> list:
    """The layers from ``root`` down to ``target``'s parent (empty when not under it)."""
    for child in root._flatten_layers(include_self=False, recursive=False):
        if child is target:
            return [root]
        below = _path(child, target)
        if below:
            return [root, *below]
    return []


def count(adapters) -> int:
    """Trainable parameters of the adapters."""
    return int(sum(np.prod(a.lora_a.shape) + np.prod(a.lora_b.shape) for a in adapters))
