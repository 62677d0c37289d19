"""The vision serving models: encoded image bytes, or float images of any size, in.

A run's SavedModel has two signatures over the same classifier:

* ``serving_default``: ``image_bytes``, a ``tf.string`` batch of encoded JPEG/PNG/BMP/GIF
  files, decoded and resized in-graph exactly as training's pipeline does
  (:func:`transferkit.vision.data.load_image`: fixed channel count, antialiased resize to
  the contract size, float 0..255);
* ``serving_images``: ``images``, float32 ``[batch, height, width, channels]`` in 0..255 of
  any size, resized the same way.

Scaling to the backbone's range stays inside the backbone (``ImageScaling``).
:func:`predict_images` is the domain's ``predict``: it sends file bytes to a model that
takes strings and the decoded pipeline to any other.

Example:
    >>> fn = tf.saved_model.load("runs/flowers/saved_model").signatures["serving_default"]  # doctest: +SKIP
    >>> fn(image_bytes=tf.constant([open("rose.jpg", "rb").read()]))["output_0"]  # doctest: +SKIP
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from transferkit.common.data.domain import PipelineOptions
from transferkit.common.keras import keras, tf
from transferkit.common.model.contracts import ImageContract

BYTES_SIGNATURE = "serving_default"
IMAGES_SIGNATURE = "serving_images"


def _resize(images, size: int):
    return tf.image.resize(tf.cast(images, tf.float32), (size, size), antialias=True)


@keras.utils.register_keras_serializable(package="transferkit")
class DecodeImages(keras.layers.Layer):
    """Encoded image bytes ``[batch]`` -> float32 ``[batch, size, size, channels]``, 0..255."""

    def __init__(self, size: int, channels: int = 3, **kwargs):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        self.size, self.channels = int(size), int(channels)

    def call(self, encoded):
        def one(raw):
            image = tf.io.decode_image(raw, channels=self.channels, expand_animations=False)
            image = _resize(image, self.size)
            image.set_shape((self.size, self.size, self.channels))
            return image

        spec = tf.TensorSpec((self.size, self.size, self.channels), tf.float32)
        return tf.map_fn(one, encoded, fn_output_signature=spec)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "channels": self.channels}


@keras.utils.register_keras_serializable(package="transferkit")
class ResizeImages(keras.layers.Layer):
    """Float images of any size -> ``[batch, size, size, channels]`` (antialiased)."""

    def __init__(self, size: int, **kwargs):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        self.size = int(size)

    def call(self, images):
        return _resize(images, self.size)

    def get_config(self):
        return {**super().get_config(), "size": self.size}


def serving_model(model: keras.Model, contract: ImageContract) -> dict:
    """``{"serving_default": bytes model, "serving_images": any-size float model}`` around
    ``model`` (float ``[batch, size, size, channels]`` 0..255 -> outputs); both share its
    layers, so one SavedModel holds the weights once."""
    encoded = keras.Input(shape=(), dtype=tf.string, name="image_bytes")
    decoded = DecodeImages(contract.size, contract.channels, name="decode_images")(encoded)
    images = keras.Input(shape=(None, None, contract.channels), name="images")
    resized = ResizeImages(contract.size, name="resize_images")(images)
    return {BYTES_SIGNATURE: keras.Model(encoded, model(decoded), name="image_bytes_serving"),
            IMAGES_SIGNATURE: keras.Model(images, model(resized), name="image_serving")}


def predict_images(model, items, contract: ImageContract, batch_size: int = 64) -> np.ndarray:
    """Outputs for image files: their bytes to a model taking strings (a SavedModel's
    ``serving_default``), else the decoded pipeline to ``model.predict``."""
    from transferkit.vision.data import make_image_dataset

    items = [str(i) for i in items]
    if getattr(model, "takes_strings", False):
        parts = [np.asarray(model(tf.constant([Path(p).read_bytes()
                                               for p in items[i:i + batch_size]])))
                 for i in range(0, len(items), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0,))
    ds = make_image_dataset(items, None, contract, PipelineOptions(batch_size=batch_size))
    return np.asarray(model.predict(ds, verbose=0))
