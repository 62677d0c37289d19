"""Per-feature standardisation at the head's input, robust to any feature scale.

Keras' ``Normalization`` divides by ``max(std, 1e-7)``. Random-init deep CNNs emit pooled
features around 1e-20 (each layer shrinks the signal), so that floor flattens them to
zero and a head cannot learn from them at all. This layer keeps mean and 1/std computed in
float64 and floors std relative to the features' own scale instead.
"""
from __future__ import annotations

import numpy as np

from transferkit.common.keras import keras, tf


@keras.utils.register_keras_serializable(package="transferkit")
class FeatureStandardization(keras.layers.Layer):
    """``(x - mean) * inv_std`` per feature; identity until :meth:`adapt` is called.

    Example:
        >>> layer = FeatureStandardization()
        >>> layer.adapt(np.array([[1e-20, 5e-21], [3e-20, 7e-21]]))
        >>> layer(np.array([[3e-20, 7e-21]], np.float32)).numpy().round(3)
        array([[1., 1.]], dtype=float32)
    """

    def __init__(self, **kwargs):
        kwargs["dtype"] = "float32"  # 1/std can exceed float16's range
        super().__init__(**kwargs)

    def build(self, input_shape):
        dim = int(input_shape[-1])
        self.mean = self.add_weight(name="mean", shape=(dim,), initializer="zeros",
                                    trainable=False)
        self.inv_std = self.add_weight(name="inv_std", shape=(dim,), initializer="ones",
                                       trainable=False)
        super().build(input_shape)

    def adapt(self, features, relative_floor: float = 1e-3) -> None:
        """Set mean and 1/std from ``[n, dim]`` training features.

        A feature whose std is below ``relative_floor`` × the median non-zero std is
        treated as constant (scaled by 1/floor, so it stays near zero).
        """
        x = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
        if not self.built:
            self.build((None, x.shape[1]))
        std = x.std(axis=0)
        positive = std[std > 0]
        floor = relative_floor * (float(np.median(positive)) if positive.size else 1.0)
        self.mean.assign(x.mean(axis=0).astype(np.float32))
        self.inv_std.assign((1.0 / np.maximum(std, floor)).astype(np.float32))

    def call(self, x):
        return (tf.cast(x, tf.float32) - self.mean) * self.inv_std
