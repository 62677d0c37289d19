"""What the head fitters share: the inputs of the output layer, and validation scores."""
from __future__ import annotations

import numpy as np

from transferkit.common.keras import keras

EPS = 1e-7


def head_inputs(head, features) -> np.ndarray:
    """``features`` through the head's layers before ``predictions`` (flatten, standardise).

    Dropout is inactive at inference, so for a head with no hidden layers this is exactly
    what the output layer sees when the model predicts.
    """
    body = keras.Model(head.inputs, head.get_layer("predictions").input)
    x = np.asarray(features, dtype=np.float32)
    return np.asarray(body.predict(x, batch_size=4096, verbose=0), dtype=np.float64)


def score(task: str, targets, outputs) -> dict:
    """Validation scores: ``loss`` (the head's training loss) and, for classes, ``accuracy``.

    Example:
        >>> score("multiclass", np.array([0, 1]), np.array([[0.9, 0.1], [0.2, 0.8]]))
        {'loss': 0.1643, 'accuracy': 1.0}
    """
    y, p = np.asarray(targets), np.asarray(outputs, dtype=np.float64)
    if task == "multiclass":
        picked = np.clip(p[np.arange(len(y)), y.astype(int)], EPS, 1.0)
        return {"loss": round(float(-np.log(picked).mean()), 4),
                "accuracy": round(float((p.argmax(axis=1) == y).mean()), 4)}
    if task == "multilabel":
        p = np.clip(p, EPS, 1 - EPS)
        loss = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()
        return {"loss": round(float(loss), 4),  # accuracy per label, as Keras' BinaryAccuracy
                "accuracy": round(float(((p > 0.5) == (y > 0.5)).mean()), 4)}
    return {"loss": round(float(((p.reshape(len(y)) - y) ** 2).mean()), 6)}
