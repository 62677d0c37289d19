"""Classification/regression heads built from :class:`HeadConfig`, with loss and metrics."""
from __future__ import annotations

import numpy as np

from transferkit.common.config import HeadConfig
from transferkit.common.keras import keras
from transferkit.common.model.standardize import FeatureStandardization

FEATURE_NORM = "head_feature_norm"
ADAPT_ROWS = 20_000  # mean/variance from at most this many training rows


def build_head(feature_shape: tuple, config: HeadConfig, num_outputs: int) -> keras.Model:
    """A separate tf_keras model: features -> [Flatten] -> Dense stack -> output layer.

    Kept separate from the backbone so it can train on cached features and then be
    joined to the backbone for fine-tuning and export.

    Example:
        >>> head = build_head((1280,), HeadConfig(units=(128,)), 3)  # doctest: +SKIP
    """
    inputs = keras.Input(shape=tuple(feature_shape), name="features")
    x = inputs
    if len(feature_shape) > 1:
        x = keras.layers.Flatten(name="head_flatten")(x)
    if config.standardize:
        x = FeatureStandardization(name=FEATURE_NORM)(x)
    for i, units in enumerate(config.units):
        x = keras.layers.Dense(units, activation=config.activation, name=f"head_dense_{i}")(x)
        # always there (rate 0 is a no-op), so phase 1 can choose the rate on validation
        x = keras.layers.Dropout(config.dropout, name=f"head_dropout_{i}")(x)
    if not config.units and config.dropout:
        x = keras.layers.Dropout(config.dropout, name="head_dropout")(x)
    activation = {"multiclass": "softmax", "multilabel": "sigmoid", "regression": None}[config.task]
    # float32 output keeps softmax stable under mixed precision.
    outputs = keras.layers.Dense(num_outputs, activation=activation, dtype="float32",
                                 name="predictions")(x)
    return keras.Model(inputs, outputs, name="head")


def adapt_head(head: keras.Model, features) -> None:
    """Set the head's feature standardisation from training features (no-op without one).

    Example:
        >>> adapt_head(head, train_features)  # doctest: +SKIP
    """
    try:
        norm = head.get_layer(FEATURE_NORM)
    except ValueError:
        return
    norm.adapt(np.asarray(features[:ADAPT_ROWS]))


def loss_and_metrics(task: str):
    """The loss and metrics that match the head's output type."""
    if task == "multiclass":
        return keras.losses.SparseCategoricalCrossentropy(), ["accuracy"]
    if task == "multilabel":
        return keras.losses.BinaryCrossentropy(), [
            keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc",
                                                                             multi_label=True)]
    if task == "regression":
        return keras.losses.MeanSquaredError(), [keras.metrics.MeanAbsoluteError(name="mae")]
    raise ValueError(f"unknown task {task!r}")


def join(backbone: keras.Model, head: keras.Model) -> keras.Model:
    """One model: backbone inputs -> head outputs (the backbone's layers, not a copy)."""
    from transferkit.common.train.optim import TwoRateModel

    return TwoRateModel(inputs=backbone.inputs, outputs=head(backbone.outputs[0]),
                        name="transferkit_model")
