"""Shared builder for ``tf_keras.applications`` backbones: scaling -> base -> pooling."""
from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Callable

from transferkit.common.keras import keras
from transferkit.common.model.weights import (WeightsUnavailableError, keras_cache_dir,
                                        keras_download_error)
from transferkit.vision.preprocessing import ImageScaling, image_input

POOLINGS = ("avg", "max", "flatten", "none")


def build_application(app_fn: Callable, *, name: str, weights, contract, pooling: str = "avg",
                      **app_kwargs) -> keras.Model:
    """Wrap a Keras application as a backbone ``pixels -> features``.

    Args:
        app_fn: e.g. ``keras.applications.MobileNetV2``.
        name: Registry name (the model's name).
        weights: As :func:`~transferkit.common.model.weights.resolve_weights` gives it: None,
            a local weights file (a user's, or a cached conversion), or ``"imagenet"``
            (tf_keras' own download).
        contract: The resolved :class:`ImageContract`.
        pooling: ``"avg"``/``"max"`` -> ``[batch, dim]``; ``"flatten"`` -> the flattened
            map; ``"none"`` -> the spatial map (the head flattens it).
    """
    if pooling not in POOLINGS:
        raise ValueError(f"{name}: pooling must be one of {POOLINGS}, got {pooling!r}")
    shape = (contract.size, contract.size, contract.channels)
    base = _base_with_weights(app_fn, name, weights, shape, app_kwargs)
    inputs = image_input(contract)
    x = ImageScaling(contract.scaling, name="scaling")(inputs)
    x = base(x)
    if pooling == "avg":
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = keras.layers.GlobalMaxPooling2D(name="max_pool")(x)
    elif pooling == "flatten":
        x = keras.layers.Flatten(name="flatten")(x)
    return keras.Model(inputs, x, name=name)


def _base_with_weights(app_fn, name, weights, shape, kwargs):
    build = lambda w: app_fn(include_top=False, weights=w, input_shape=shape, **kwargs)  # noqa
    if weights is None:
        return build(None)
    if weights != "imagenet":
        base = build(None)
        _load_file(base, Path(weights), name)
        return base
    if shape[-1] != 3:
        raise ValueError(f"{name}: ImageNet weights need 3 channels, got {shape[-1]}")
    try:
        with _keras_download_cache(keras_cache_dir()):
            return build("imagenet")
    except Exception as exc:  # noqa: BLE001 - offline, firewall, proxy: all the same here
        raise keras_download_error(name, "imagenet", exc) from exc


_CACHE_LOCK = threading.Lock()


@contextlib.contextmanager
def _keras_download_cache(cache_dir: Path):
    """Make the applications' weight download use ``cache_dir`` (``KERAS_HOME``).

    ``tf_keras.applications`` call ``data_utils.get_file(..., cache_subdir="models")``
    without a ``cache_dir``, which always means ``~/.keras`` (they ignore ``KERAS_HOME``);
    inside this block a call without one gets ``cache_dir`` instead.
    """
    from tf_keras.src.utils import data_utils

    real = data_utils.get_file

    def get_file(*args, **kwargs):
        if kwargs.get("cache_dir") is None and len(args) < 10:  # cache_dir: 10th positional
            kwargs["cache_dir"] = str(cache_dir)
        return real(*args, **kwargs)

    with _CACHE_LOCK:
        data_utils.get_file = get_file
        try:
            yield
        finally:
            data_utils.get_file = real


def _load_file(base, path: Path, name: str) -> None:
    try:
        base.load_weights(str(path))
    except Exception as exc:  # noqa: BLE001
        raise WeightsUnavailableError(
            name, [f"local file {path} ({type(exc).__name__}: {str(exc)[:200]})"],
            "The file must hold weights of the same architecture without its top "
            "(include_top=False).") from exc
