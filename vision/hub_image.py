"""TF-Hub image feature-vector models (``hub.KerasLayer``), by handle or local path.

The handle *is* the weights: ``create_backbone("hub_image", weights=HANDLE_OR_DIR)``.
Online, a TF-Hub/Kaggle handle downloads into ``$TFHUB_CACHE_DIR``; offline, pass the
directory of a SavedModel you downloaded elsewhere (or a warm ``TFHUB_CACHE_DIR``).
"""
from __future__ import annotations

from transferkit.common.model.contracts import ImageContract
from transferkit.common.model.hub import hub_keras_layer
from transferkit.common.keras import keras
from transferkit.common.model.registry import register_backbone
from transferkit.vision.preprocessing import ImageScaling, image_input


@register_backbone("hub_image", domain="vision", contract=ImageContract(size=224, scaling="unit"),
                   licence="that of the TF-Hub model used")
def hub_image(weights=None, contract=None, handle: str = "", output_key: str | None = None):
    """A TF-Hub image feature-vector model; input 0..1 RGB (the TF-Hub image convention)."""
    handle = handle or weights
    inputs = image_input(contract)
    x = ImageScaling(contract.scaling, name="scaling")(inputs)
    features = hub_keras_layer(handle, "hub_image", trainable=True, output_key=output_key)(x)
    return keras.Model(inputs, features, name="hub_image")
