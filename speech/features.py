"""Log-mel and MFCC features from waveforms, in TensorFlow, with settings from the contract.

The same functions serve two places: a parallel ``tf.data`` map at the pipeline's edge
(for contracts with ``features="logmel"``/``"mfcc"``), and the :class:`LogMel` layer inside
a backbone, so an exported model still takes waveforms.

Example:
    >>> contract = AudioContract(sample_rate=16000, n_mels=40)
    >>> log_mel(tf.zeros([2, 16000]), contract).shape  # doctest: +SKIP
    TensorShape([2, 98, 40])
"""
from __future__ import annotations

import numpy as np

from transferkit.common.model.contracts import AudioContract
from transferkit.common.keras import keras, tf

LOG_OFFSET = 1e-6  # keeps log() finite on silent frames
N_MFCC = 13


def _frame_sizes(contract: AudioContract) -> tuple[int, int, int]:
    win = int(round(contract.window_seconds * contract.sample_rate))
    hop = int(round(contract.hop_seconds * contract.sample_rate))
    fft = 1 << (win - 1).bit_length()  # next power of two: rfft is fastest there
    return win, hop, fft


def num_frames(contract: AudioContract) -> int:
    """Frames a clip of ``contract.clip_samples`` gives (no end padding)."""
    win, hop, _ = _frame_sizes(contract)
    return 1 + (contract.clip_samples - win) // hop


def _stft_magnitude(waves, win: int, hop: int, fft: int):
    """``|STFT|`` with a periodic Hann window, as ``tf.signal.stft`` computes it.

    The frames are gathered with a constant index table instead of ``tf.signal.frame``:
    its strided slices are not TFLite builtins, so models holding a log-mel front end would
    convert only with Flex ops. GATHER and RFFT are builtins.
    """
    n = waves.shape[-1]
    if n is not None:
        count = 1 + (n - win) // hop
        index = tf.constant((np.arange(count)[:, None] * hop + np.arange(win)[None, :])
                            .astype(np.int32))
    else:
        count = 1 + (tf.shape(waves)[-1] - win) // hop
        index = tf.range(count)[:, None] * hop + tf.range(win)[None, :]
    frames = tf.gather(waves, index, axis=-1) * tf.signal.hann_window(win, periodic=True)
    return tf.abs(tf.signal.rfft(frames, [fft]))


def log_mel(waves, contract: AudioContract, fmin: float = 20.0, fmax: float | None = None):
    """``[..., samples]`` float32 waveforms to ``[..., frames, n_mels]`` log-mel energies."""
    win, hop, fft = _frame_sizes(contract)
    power = tf.math.square(_stft_magnitude(waves, win, hop, fft))
    matrix = tf.signal.linear_to_mel_weight_matrix(
        num_mel_bins=contract.n_mels, num_spectrogram_bins=fft // 2 + 1,
        sample_rate=contract.sample_rate, lower_edge_hertz=fmin,
        upper_edge_hertz=fmax or contract.sample_rate / 2)
    mel = tf.tensordot(power, matrix, 1)
    mel.set_shape(power.shape[:-1].concatenate([contract.n_mels]))
    return tf.math.log(mel + LOG_OFFSET)


def mfcc(waves, contract: AudioContract, n_mfcc: int = N_MFCC):
    """``[..., samples]`` waveforms to ``[..., frames, n_mfcc]`` MFCCs (DCT of log-mel)."""
    return tf.signal.mfccs_from_log_mel_spectrograms(log_mel(waves, contract))[..., :n_mfcc]


def features_fn(contract: AudioContract):
    """The feature function a contract names, or None for ``"waveform"``."""
    kinds = {"waveform": None, "logmel": lambda w: log_mel(w, contract),
             "mfcc": lambda w: mfcc(w, contract)}
    if contract.features not in kinds:
        raise ValueError(f"AudioContract.features must be one of {sorted(kinds)}, "
                         f"got {contract.features!r}")
    return kinds[contract.features]


@keras.utils.register_keras_serializable(package="transferkit")
class LogMel(keras.layers.Layer):
    """Waveforms ``[batch, samples]`` to log-mel ``[batch, frames, n_mels, 1]`` (no weights).

    Example:
        >>> LogMel(16000, 0.025, 0.010, 40)(tf.zeros([1, 16000])).shape  # doctest: +SKIP
        TensorShape([1, 98, 40, 1])
    """

    def __init__(self, sample_rate: int, window_seconds: float, hop_seconds: float,
                 n_mels: int, **kwargs):
        super().__init__(**kwargs)
        self.settings = dict(sample_rate=sample_rate, window_seconds=window_seconds,
                             hop_seconds=hop_seconds, n_mels=n_mels)
        self._contract = AudioContract(**self.settings)

    def call(self, waves):
        return log_mel(tf.cast(waves, tf.float32), self._contract)[..., None]

    def get_config(self):
        return {**super().get_config(), **self.settings}
