"""Hidden-layer heads trained on cached features until validation stops improving.

With the features in memory an epoch of a small head costs milliseconds, so the fixed
``--epochs 5`` of a plain ``fit`` is the wrong budget: this trains each candidate for up to
``max_epochs`` (a cap), stops when the validation loss has not improved for
:data:`PATIENCE` epochs, restores the best epoch's weights, and picks the dropout rate that
scores best on validation. Several steps run per graph call (``steps_per_execution``),
since a step of a small head is cheaper than a Python round trip.

Example:
    >>> fit = train_hidden_head(head, "multiclass", x, y, xv, yv, ...)  # doctest: +SKIP
"""
from __future__ import annotations

import numpy as np

from transferkit.common.seed import set_global_seed

from transferkit.common.train.head_score import score
from transferkit.common.train.head_solve import HeadFit, _key
from transferkit.common.keras import keras

DROPOUTS = (0.0, 0.25, 0.5)
PATIENCE = 10
STEPS_PER_EXECUTION = 16


def dropout_layers(head) -> list:
    return [layer for layer in head.layers if isinstance(layer, keras.layers.Dropout)]


def train_hidden_head(head, task: str, x_train, y_train, x_val, y_val, *, loss, metrics,
                      make_optimizer, batch_size: int, max_epochs: int, dropout: float,
                      class_weight: dict | None = None, refit: bool = False,
                      seed: int = 0) -> tuple[HeadFit, list[dict]]:
    """Train ``head`` on features; choose dropout on validation. Returns (fit, history).

    Args:
        make_optimizer: ``() -> optimizer``, a fresh one per candidate.
        max_epochs: The cap on epochs per candidate (``--epochs``).
        dropout: The configured rate, always among the candidates.
        class_weight: ``{class index: weight}`` or None.

    Returns:
        The :class:`HeadFit` and the winning candidate's per-epoch logs.
    """
    x_train, x_val = np.asarray(x_train, np.float32), np.asarray(x_val, np.float32)
    layers = dropout_layers(head)
    rates = sorted({float(dropout), *DROPOUTS}) if layers else [float(dropout)]
    initial, rows, best = head.get_weights(), [], None
    for rate in rates:
        set_global_seed(seed)
        head.set_weights(initial)
        logs = _fit(head, rate, layers, x_train, y_train, (x_val, y_val), loss, metrics,
                    make_optimizer, batch_size, max_epochs, class_weight, early_stop=True)
        val = score(task, y_val, head.predict(x_val, batch_size=4096, verbose=0))
        epochs = int(np.argmin([r["val_loss"] for r in logs])) + 1
        rows.append({"dropout": rate, "epochs": epochs, **val})
        if best is None or _key(val) > _key(best[0]):
            best = (val, rate, epochs, head.get_weights(), logs)
    _, rate, epochs, weights, logs = best
    head.set_weights(initial if refit else weights)
    if refit:  # the chosen rate for the chosen number of epochs, on train + validation
        set_global_seed(seed)
        _fit(head, rate, layers, np.concatenate([x_train, x_val]),
             np.concatenate([y_train, y_val]), None, loss, metrics, make_optimizer,
             batch_size, epochs, class_weight, early_stop=False)
    for layer in layers:
        layer.rate = rate
    return HeadFit("adam", {"dropout": rate, "epochs": epochs}, tuple(rows), refit,
                   "balanced" if class_weight else ""), logs


def _fit(head, rate, layers, x, y, validation, loss, metrics, make_optimizer, batch_size,
         epochs, class_weight, early_stop):
    for layer in layers:
        layer.rate = rate  # read when the train function is traced, i.e. after compile
    head.compile(optimizer=make_optimizer(), loss=loss, metrics=metrics,
                 steps_per_execution=STEPS_PER_EXECUTION)
    calls = [keras.callbacks.EarlyStopping(patience=PATIENCE, restore_best_weights=True)] \
        if early_stop else []
    history = head.fit(x, y, batch_size=batch_size, epochs=epochs, validation_data=validation,
                       class_weight=class_weight, callbacks=calls, shuffle=True, verbose=0)
    n = len(history.history.get("loss", []))
    return [{k: float(v[i]) for k, v in history.history.items()} for i in range(n)]
