"""A run's trainable model from the run directory's own ``model.keras``.

A backbone whose architecture *is* the user's file (``own_model``) is rebuilt from the run's
copy, never from the original path in ``config.json``: that file may be gone, changed since,
or carry code that only a trusted training run was allowed to load.

Example:
    >>> model = model_from_run_file(Path("runs/own/model.keras"))  # doctest: +SKIP
"""
from __future__ import annotations

from pathlib import Path

from transferkit.common.keras import keras
from transferkit.common.output.export import TemperatureScaling


def model_from_run_file(path: Path, trust_model_code: bool = False) -> keras.Model:
    """The trained model in ``path`` (a run's ``model.keras``) without its temperature layer,
    as the trainer's two-rate model; loaded in Keras' safe mode unless ``trust_model_code``.

    Raises:
        ValueError: naming the file when it does not load.
    """
    from transferkit.common.train.optim import TwoRateModel

    try:
        loaded = keras.models.load_model(str(path), compile=False,
                                         safe_mode=not trust_model_code)
    except Exception as exc:  # noqa: BLE001
        raise ValueError(f"{path}: cannot rebuild the run's model from it "
                         f"({type(exc).__name__}: {str(exc)[:200]})") from exc
    last = loaded.layers[-1]
    outputs = last.input if isinstance(last, TemperatureScaling) else loaded.outputs[0]
    return TwoRateModel(inputs=loaded.inputs, outputs=outputs, name="transferkit_model")

