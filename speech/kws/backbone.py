"""``kws_mobilenetv2``: a keyword-spotting MobileNetV2 as a waveform backbone.

MLTK's ``MobileNetV2`` is Keras' (alpha 0.15) with its last 1×1 conv cut to 384 filters;
:func:`kws_network` rebuilds it, and the pretrained ``.h5`` loads into it layer for layer.
The backbone puts the microfrontend inside the model (1.2 s of 16 kHz waveform in), then
the network up to its global average pool: a 384-d feature vector.

Example:
    >>> backbone = create_backbone("kws_mobilenetv2")  # doctest: +SKIP
    >>> backbone(tf.zeros([1, 19200])).shape  # doctest: +SKIP
    TensorShape([1, 384])
"""
from __future__ import annotations

from transferkit.common.model.contracts import AudioContract
from transferkit.common.keras import keras
from transferkit.common.model.registry import register_backbone
from transferkit.common.model.weights import named_path
from transferkit.speech.kws.weights import CLASSES, NAME
from transferkit.speech.kws.microfrontend import FrontendSettings, MicroFrontend

ALPHA = 0.15
LAST_FILTERS = 384
CONTRACT = AudioContract(sample_rate=16000, clip_seconds=1.2, window_seconds=0.03,
                         hop_seconds=0.02, n_mels=49, features="waveform")


def kws_network(settings: FrontendSettings = FrontendSettings(),
                classes: int = len(CLASSES)) -> keras.Model:
    """MLTK's keyword MobileNetV2 (random init): features ``[59, 49, 1]`` -> softmax."""
    base = keras.applications.MobileNetV2(
        input_shape=(settings.frames, settings.num_channels, 1), alpha=ALPHA,
        include_top=False, weights=None)
    x = base.get_layer("block_16_project_BN").output
    x = keras.layers.Conv2D(LAST_FILTERS, 1, use_bias=False, name="Conv_1")(x)
    x = keras.layers.BatchNormalization(epsilon=1e-3, momentum=0.999, name="Conv_1_bn")(x)
    x = keras.layers.ReLU(6.0, name="out_relu")(x)
    x = keras.layers.GlobalAveragePooling2D(name="global_average_pooling2d")(x)
    out = keras.layers.Dense(classes, activation="softmax", name="predictions")(x)
    return keras.Model(base.input, out, name="kws_mobilenetv2_network")


def kws_classifier(weights=NAME) -> keras.Model:
    """The original 8-class keyword classifier, waveform in (for checks and demos)."""
    network = kws_network()
    path = named_path(NAME, NAME) if weights == NAME else weights  # outside create_backbone
    if path:
        network.load_weights(str(path))
    wave = keras.Input((FrontendSettings().samples,), name="waveform")
    return keras.Model(wave, network(MicroFrontend(name="microfrontend")(wave)),
                       name="kws_classifier")


@register_backbone(NAME, domain="speech", contract=CONTRACT, weight_sources=(NAME,),
                   licence="Zlib", groups=("Conv1", "block_1_", "block_3_", "block_6_",
                                           "block_10_", "block_13_", "block_16_"),
                   # phase 2 at 1e-3: +6.0 pt over phase 1 on unseen espeak voices (5 seeds),
                   # 1e-4 +1.9 (benchmarks/fine_tune_strategies.py --domain speech)
                   fine_tune_lr=1e-3,
                   description="keyword-spotting MobileNetV2 (Speech Commands)"
                   " with the TFLM microfrontend inside; 1.2 s @ 16 kHz -> 384-d")
def kws_mobilenetv2(weights=None, contract: AudioContract = CONTRACT) -> keras.Model:
    """Waveform ``[batch, 19200]`` -> 384-d pooled features of the keyword network."""
    settings = FrontendSettings()
    if (contract.sample_rate, contract.clip_samples) != (settings.sample_rate, settings.samples):
        raise ValueError(f"{NAME} takes {settings.samples} samples at {settings.sample_rate} Hz "
                         "(its frontend is fixed by the pretrained weights)")
    network = kws_network(settings)
    if weights is not None:  # resolved: the cached fetch or a local .h5
        network.load_weights(str(weights))
    trunk = keras.Model(network.input, network.get_layer("global_average_pooling2d").output,
                        name="kws_trunk")
    wave = keras.Input((settings.samples,), name="waveform")
    return keras.Model(wave, trunk(MicroFrontend(settings, name="microfrontend")(wave)),
                       name=NAME)
