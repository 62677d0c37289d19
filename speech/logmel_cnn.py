"""``logmel_cnn``: a small log-mel CNN to train from scratch, then reuse as a backbone.

Own-model transfer in audio: train it on one task (``--weights none`` with fine-tuning of
all layers), then pass that run directory, or a weights ``.h5``, as ``weights`` for the
next task. Weights load by layer name, so a run's joined model file (backbone + head)
works and its head is ignored.

Example:
    >>> first = create_backbone("logmel_cnn", weights=None)  # doctest: +SKIP
    >>> again = create_backbone("logmel_cnn", weights="runs/words_a")  # doctest: +SKIP
"""
from __future__ import annotations

from pathlib import Path

from transferkit.common.model.contracts import AudioContract
from transferkit.common.keras import keras
from transferkit.common.model.registry import register_backbone
from transferkit.common.model.weights import local_path
from transferkit.speech.features import LogMel

NAME = "logmel_cnn"
RUN_WEIGHTS = "model_weights.h5"  # what a run directory holds (common.export.WEIGHTS)


def _block(x, filters: int, index: int):
    x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{index}")(x)
    x = keras.layers.BatchNormalization(name=f"conv{index}_bn")(x)
    x = keras.layers.ReLU(name=f"conv{index}_relu")(x)
    return keras.layers.MaxPool2D(2, padding="same", name=f"pool{index}")(x)


def _weights_file(weights) -> Path:
    path = local_path(NAME, weights)
    return path / RUN_WEIGHTS if path.is_dir() else path


@register_backbone(NAME, domain="speech",
                   contract=AudioContract(sample_rate=16000, clip_seconds=1.0,
                                          window_seconds=0.025, hop_seconds=0.010, n_mels=40),
                   description="small log-mel CNN (train from scratch, reuse as a backbone)",
                   licence="yours (trained by you)")
def logmel_cnn(weights=None, contract: AudioContract = AudioContract(),
               widths: tuple = (16, 32, 64, 128)) -> keras.Model:
    """Waveform ``[batch, clip_samples]`` -> log-mel -> conv blocks -> ``[batch, widths[-1]]``.

    Args:
        weights: None (random init), or a run directory / weights ``.h5`` of this backbone.
        widths: Filters of each conv block (each halves time and frequency).
    """
    if isinstance(widths, str):  # from a CLI option "16,32,64"
        widths = tuple(int(w) for w in widths.split(","))
    wave = keras.Input((contract.clip_samples,), name="waveform")
    x = LogMel(contract.sample_rate, contract.window_seconds, contract.hop_seconds,
               contract.n_mels, name="logmel")(wave)
    # Per-clip normalisation over time and frequency: gain-invariant, and unlike a
    # BatchNorm it also trains when fine-tuning keeps BatchNorm layers frozen.
    x = keras.layers.LayerNormalization(axis=(1, 2), name="logmel_norm")(x)
    for i, filters in enumerate(widths):
        x = _block(x, int(filters), i)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    model = keras.Model(wave, x, name=NAME)
    if weights is not None:
        model.load_weights(str(_weights_file(weights)), by_name=True)
    return model
