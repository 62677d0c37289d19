"""One shared check for every backbone (keras-hub's ``run_task_test`` idea).

Build, forward, one fit step with a head, save weights, rebuild, compare; then export a
SavedModel, reload it and compare again.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from transferkit.common.config import HeadConfig
from transferkit.common.freezing import all_trainable
from transferkit.common.heads import build_head, join, loss_and_metrics
from transferkit.common.keras import keras, tf


def check_backbone(build: Callable[[], keras.Model], inputs, atol: float = 1e-4) -> dict:
    """Run the standard backbone checks; returns the feature shape and the diffs.

    Args:
        build: Builds the backbone with random weights (called twice).
        inputs: A small batch of model inputs (array or dict of arrays).
    """
    backbone = build()
    feats = backbone(inputs, training=False).numpy()
    assert feats.ndim == 2 and feats.shape[0] == _batch(inputs), feats.shape
    assert np.all(np.isfinite(feats)), "non-finite features"
    head = build_head(tuple(backbone.output_shape[1:]), HeadConfig(units=(8,)), 2)
    model = join(backbone, head)
    loss, metrics = loss_and_metrics("multiclass")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss, metrics=metrics)
    targets = np.arange(_batch(inputs)) % 2
    history = model.fit(inputs, targets, epochs=1, batch_size=_batch(inputs), verbose=0)
    assert np.isfinite(history.history["loss"][0])
    before = model.predict(inputs, verbose=0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.h5"
        with all_trainable(model):
            model.save_weights(str(path), save_format="h5")
        fresh = join(build(), build_head(tuple(backbone.output_shape[1:]),
                                         HeadConfig(units=(8,)), 2))
        fresh.load_weights(str(path))
        weights_diff = float(np.max(np.abs(fresh.predict(inputs, verbose=0) - before)))
        plain = keras.Model(model.inputs, model.outputs)
        plain.save(str(Path(tmp) / "sm"), save_format="tf", include_optimizer=False)
        fn = tf.saved_model.load(str(Path(tmp) / "sm")).signatures["serving_default"]
        _, names = fn.structured_input_signature
        args = inputs if isinstance(inputs, dict) else {next(iter(names)): inputs}
        saved = next(iter(fn(**{k: tf.constant(v) for k, v in args.items()}).values())).numpy()
        saved_diff = float(np.max(np.abs(saved - before)))
    assert weights_diff < atol, f"reloaded weights give different outputs ({weights_diff})"
    assert saved_diff < atol, f"SavedModel gives different outputs ({saved_diff})"
    return {"feature_shape": feats.shape[1:], "weights_diff": weights_diff,
            "saved_diff": saved_diff}


def _batch(inputs) -> int:
    if isinstance(inputs, dict):
        return len(next(iter(inputs.values())))
    return len(inputs)
