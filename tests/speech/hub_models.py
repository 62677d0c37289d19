"""Tiny SavedModels with YAMNet's and TRILL's calling conventions, written by the tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np

FRAME, HOP, DIM = 400, 160, 16


def _frame_features(tf, waves):
    frames = tf.signal.frame(waves, FRAME, HOP)
    return tf.math.log(tf.abs(tf.signal.rfft(frames))[..., :32] + 1e-3)


def write_yamnet_like(tf, path: Path) -> Path:
    """1-D waveform in; ``(scores [frames, 5], embeddings [frames, 16], spectrogram)`` out."""
    module = tf.Module()
    rng = np.random.default_rng(0)
    module.w = tf.Variable(rng.normal(size=(32, DIM)).astype("float32") / 6)
    module.s = tf.Variable(rng.normal(size=(DIM, 5)).astype("float32"))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def call(waveform):
        spec = _frame_features(tf, waveform)
        emb = tf.nn.relu(spec @ module.w)
        return tf.sigmoid(emb @ module.s), emb, spec

    module.__call__ = call
    tf.saved_model.save(module, str(path))
    return path


def write_trill_like(tf, path: Path) -> Path:
    """``samples [batch, n]`` and ``sample_rate`` in; ``{"embedding": [batch, frames, 16]}``."""
    module = tf.Module()
    module.w = tf.Variable(np.random.default_rng(1).normal(size=(32, DIM)).astype("float32") / 6)

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32),
                                  tf.TensorSpec([], tf.int32)])
    def call(samples, sample_rate):
        del sample_rate  # the real TRILL checks it; this stand-in only accepts it
        return {"embedding": tf.nn.relu(_frame_features(tf, samples) @ module.w)}

    module.__call__ = call
    tf.saved_model.save(module, str(path))
    return path
