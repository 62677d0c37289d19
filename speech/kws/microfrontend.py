"""TF's ``audio_microfrontend`` op as a Keras layer: waveforms in, int8-scaled features out.

This is the TFLite-Micro keyword-spotting frontend (FFT, mel filterbank, noise reduction,
optional PCAN, log). Keyword models from Silicon Labs' MLTK were trained on its *int8*
output, which TFLM derives from the op's uint16 output in ``micro_features_generator.cc``:
``round(v * 256 / 666) - 128``, clipped to int8. Their float Keras models take those int8
values as plain floats (the TFLite input is int8 with scale 1, zero point 0).

Example:
    >>> layer = MicroFrontend(FrontendSettings())
    >>> layer(tf.zeros([2, 19200])).shape  # doctest: +SKIP
    TensorShape([2, 59, 49, 1])
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from transferkit.common.keras import keras, tf

INT8_VALUE_SCALE = 256
INT8_VALUE_DIV = 666  # int(25.6 * 26.0 + 0.5) in micro_features_generator.cc


def _op():
    # Importing loads the op's shared library; a SavedModel using the op needs it loaded.
    from tensorflow.lite.experimental.microfrontend.python.ops import audio_microfrontend_op

    return audio_microfrontend_op.audio_microfrontend


@dataclass(frozen=True)
class FrontendSettings:
    """The ``fe.*`` settings of an MLTK model (defaults: keyword_spotting_mobilenetv2)."""

    sample_rate: int = 16000
    sample_length_ms: int = 1200
    window_size_ms: int = 30
    window_step_ms: int = 20
    num_channels: int = 49
    upper_band_limit: float = 3999.0
    lower_band_limit: float = 125.0
    smoothing_bits: int = 10
    even_smoothing: float = 0.025
    odd_smoothing: float = 0.06
    min_signal_remaining: float = 0.03
    enable_pcan: bool = False
    pcan_strength: float = 0.95
    pcan_offset: float = 80.0
    gain_bits: int = 21
    enable_log: bool = True
    scale_shift: int = 6

    @property
    def samples(self) -> int:
        return self.sample_rate * self.sample_length_ms // 1000

    @property
    def frames(self) -> int:
        win = self.sample_rate * self.window_size_ms // 1000
        step = self.sample_rate * self.window_step_ms // 1000
        return (self.samples - win) // step + 1


def frontend_uint16(wave_int16, settings: FrontendSettings):
    """One clip, int16 ``[samples]`` -> uint16 ``[frames, channels]`` (the op itself)."""
    s = dataclasses.asdict(settings)
    s.pop("sample_length_ms")
    s["window_size"], s["window_step"] = s.pop("window_size_ms"), s.pop("window_step_ms")
    return _op()(wave_int16, out_scale=1, out_type=tf.uint16, **s)


def to_int8_scale(features_uint16):
    """TFLM's uint16 -> int8 mapping, returned as float32 values in [-128, 127]."""
    v = tf.cast(features_uint16, tf.int32)
    v = (v * INT8_VALUE_SCALE + INT8_VALUE_DIV // 2) // INT8_VALUE_DIV - 128
    return tf.cast(tf.clip_by_value(v, -128, 127), tf.float32)


@keras.utils.register_keras_serializable(package="transferkit")
class MicroFrontend(keras.layers.Layer):
    """Float waveforms ``[batch, samples]`` in [-1, 1] -> ``[batch, frames, channels, 1]``."""

    def __init__(self, settings: FrontendSettings | dict = FrontendSettings(), **kwargs):
        super().__init__(trainable=False, **kwargs)
        self.settings = settings if isinstance(settings, FrontendSettings) else \
            FrontendSettings(**settings)
        _op()  # fail at build time, not mid-training, if the op library is missing

    def call(self, waves):
        # The vendor scales float audio by 32768 into int16; clipping avoids wrap-around.
        pcm = tf.cast(tf.clip_by_value(tf.cast(waves, tf.float32) * 32768.0, -32768.0,
                                       32767.0), tf.int16)
        feats = tf.map_fn(lambda w: to_int8_scale(frontend_uint16(w, self.settings)), pcm,
                          fn_output_signature=tf.float32)
        feats.set_shape([None, self.settings.frames, self.settings.num_channels])
        return feats[..., None]

    def get_config(self):
        return {**super().get_config(), "settings": dataclasses.asdict(self.settings)}
