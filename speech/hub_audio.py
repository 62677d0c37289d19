"""TF-Hub waveform embedders (``hub.KerasLayer``), by handle or local SavedModel path.

Two calling conventions are supported, named by the backbone:

* ``hub_yamnet`` — YAMNet-style: one *unbatched* 16 kHz waveform in, ``(scores,
  embeddings, spectrogram)`` out; each clip's frame embeddings are averaged.
* ``hub_trill`` — TRILL-style: batched waveforms (and ``sample_rate``) in, a dict with
  ``embedding`` out (``[batch, dim]`` or ``[batch, frames, dim]``, then averaged).

The handle *is* the weights: ``create_backbone("hub_yamnet", weights=DIR_OR_HANDLE)``.

Example:
    >>> backbone = create_backbone("hub_yamnet", weights="/models/yamnet")  # doctest: +SKIP
"""
from __future__ import annotations

from transferkit.common.model.contracts import AudioContract
from transferkit.common.model.hub import hub_keras_layer
from transferkit.common.keras import keras, tf
from transferkit.common.model.registry import register_backbone

YAMNET_HANDLE = "https://tfhub.dev/google/yamnet/1"
TRILL_HANDLE = "https://tfhub.dev/google/nonsemantic-speech-benchmark/trill-distilled/3"


@keras.utils.register_keras_serializable(package="transferkit")
class PerClipMean(keras.layers.Layer):
    """Runs an unbatched embedder on each clip and averages its frame embeddings."""

    def __init__(self, embedder, output_index: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.embedder, self.output_index = embedder, output_index

    def call(self, waves):
        def one(wave):
            return tf.reduce_mean(self.embedder(wave)[self.output_index], axis=0)

        return tf.map_fn(one, waves, fn_output_signature=tf.float32)


def _mean_frames(x):
    return tf.reduce_mean(x, axis=1) if x.shape.rank == 3 else x


@register_backbone("hub_yamnet", domain="speech", contract=AudioContract(16000, 0.96),
                   weight_sources=(YAMNET_HANDLE,), licence="that of the TF-Hub model used",
                   description="YAMNet-style TF-Hub embedder (waveform -> scores, "
                               "embeddings, spectrogram); frame embeddings averaged")
def hub_yamnet(weights=YAMNET_HANDLE, contract: AudioContract = AudioContract(16000, 0.96),
               handle: str = "", trainable: bool = False) -> keras.Model:
    """``[batch, clip_samples]`` -> mean frame embedding (1,024-d for YAMNet)."""
    layer = hub_keras_layer(handle or weights, "hub_yamnet", trainable=trainable)
    wave = keras.Input((contract.clip_samples,), name="waveform")
    return keras.Model(wave, PerClipMean(layer, name="per_clip_mean")(wave), name="hub_yamnet")


@register_backbone("hub_trill", domain="speech", contract=AudioContract(16000, 1.0),
                   weight_sources=(TRILL_HANDLE,), licence="that of the TF-Hub model used",
                   description="TRILL-style TF-Hub embedder (waveform -> {'embedding'})")
def hub_trill(weights=TRILL_HANDLE, contract: AudioContract = AudioContract(16000, 1.0),
              handle: str = "", trainable: bool = False,
              pass_sample_rate: bool = True) -> keras.Model:
    """``[batch, clip_samples]`` -> the ``embedding`` output, averaged over frames if any."""
    arguments = {"sample_rate": contract.sample_rate} if pass_sample_rate else None
    layer = hub_keras_layer(handle or weights, "hub_trill", trainable=trainable,
                            output_key="embedding", arguments=arguments)
    wave = keras.Input((contract.clip_samples,), name="waveform")
    out = keras.layers.Lambda(_mean_frames, name="mean_frames")(layer(wave))
    return keras.Model(wave, out, name="hub_trill")
