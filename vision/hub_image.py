"""TF-Hub image feature-vector models (``hub.KerasLayer``), by handle or local path.

The handle *is* the weights: ``create_backbone("hub_image", weights=HANDLE_OR_DIR)``.
Online, a TF-Hub/Kaggle handle downloads into ``$TFHUB_CACHE_DIR``; offline, pass the
directory of a SavedModel you downloaded elsewhere (or a warm ``TFHUB_CACHE_DIR``).
"""
from __future__ import annotations

import os
from pathlib import Path

from transferkit.common.contracts import ImageContract
from transferkit.common.keras import keras
from transferkit.common.registry import register_backbone
from transferkit.common.weights import WeightsUnavailableError
from transferkit.vision.preprocessing import ImageScaling, image_input


def hub_layer(handle: str, backbone: str, output_key: str | None = None, **kwargs):
    """``hub.KerasLayer`` for a handle or local SavedModel, with a clear offline error."""
    import tensorflow_hub as hub

    local = Path(handle).expanduser()
    source = str(local) if local.exists() else handle
    if not local.exists() and "://" not in handle and not handle.startswith("gs:"):
        raise WeightsUnavailableError(backbone, [f"local path {handle} (does not exist)"],
                                      "Pass a SavedModel directory or a TF-Hub/Kaggle handle.")
    try:
        return hub.KerasLayer(source, trainable=True, output_key=output_key, **kwargs)
    except Exception as exc:  # noqa: BLE001 - offline download failure, bad SavedModel
        cache = os.environ.get("TFHUB_CACHE_DIR", "(TFHUB_CACHE_DIR unset: a temp dir)")
        raise WeightsUnavailableError(
            backbone, [f"TF-Hub handle {handle} via cache {cache} "
                       f"({type(exc).__name__}: {str(exc)[:200]})"],
            "Offline: download the model where you are online, then pass its local "
            "directory (or set TFHUB_CACHE_DIR to a cache that holds it).") from exc


@register_backbone("hub_image", domain="vision", contract=ImageContract(size=224, scaling="unit"),
                   licence="that of the TF-Hub model used")
def hub_image(weights=None, contract=None, handle: str = "", output_key: str | None = None):
    """A TF-Hub image feature-vector model; input 0..1 RGB (the TF-Hub image convention)."""
    handle = handle or weights
    if not handle:
        raise WeightsUnavailableError(
            "hub_image", ["no handle given"],
            "A TF-Hub model can't be randomly initialised: pass --weights HANDLE_OR_DIR.")
    inputs = image_input(contract)
    x = ImageScaling(contract.scaling, name="scaling")(inputs)
    features = hub_layer(str(handle), "hub_image", output_key=output_key)(x)
    return keras.Model(inputs, features, name="hub_image")
