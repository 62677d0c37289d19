"""Image scaling inside the backbone, so exported models take plain 0..255 pixels."""
from __future__ import annotations

from transferkit.common.keras import keras, tf

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
SCALINGS = ("tf", "caffe", "torch", "unit", "none")


@keras.utils.register_keras_serializable(package="transferkit")
class ImageScaling(keras.layers.Layer):
    """Map 0..255 RGB to a backbone's expected range.

    Modes: ``"tf"`` -> [-1, 1] (MobileNet, Inception); ``"caffe"`` -> BGR minus ImageNet mean
    (VGG, ResNet50); ``"torch"`` -> [0, 1] then ImageNet mean/std; ``"unit"`` -> [0, 1];
    ``"none"`` -> unchanged (EfficientNet rescales itself).

    Example:
        >>> ImageScaling("tf")(tf.constant([[[[255.0, 0.0, 127.5]]]])).numpy().round(3)
        array([[[[ 1., -1.,  0.]]]], dtype=float32)
    """

    def __init__(self, mode: str = "tf", **kwargs):
        super().__init__(**kwargs)
        if mode not in SCALINGS:
            raise ValueError(f"image scaling must be one of {SCALINGS}, got {mode!r}")
        self.mode = mode

    def call(self, x):
        x = tf.cast(x, self.compute_dtype)
        if self.mode == "tf":
            return x / 127.5 - 1.0
        if self.mode == "unit":
            return x / 255.0
        if self.mode == "torch":
            return (x / 255.0 - tf.constant(_IMAGENET_MEAN, x.dtype)) / tf.constant(
                _IMAGENET_STD, x.dtype)
        if self.mode == "caffe":
            return x[..., ::-1] - tf.constant(_CAFFE_MEAN_BGR, x.dtype)
        return x

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


def image_input(contract, name: str = "image"):
    """The backbone's input: float32 pixels ``[batch, size, size, channels]`` in 0..255."""
    return keras.Input(shape=(contract.size, contract.size, contract.channels), name=name)
