"""The one place transferkit imports TensorFlow and tf_keras.

TF-Hub's ``hub.KerasLayer`` and the transformers TF classes work only with Keras 2,
so ``TF_USE_LEGACY_KERAS`` must be set before TensorFlow is first imported.
Every other module does ``from transferkit.common.keras import tf, keras``.
"""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

__all__ = ["tf", "keras"]
