"""``kws_frontend``: the keyword model's microfrontend alone, flattened (a baseline).

It has no weights: a head on it measures what the TFLM features give without the
pretrained network, the figure to report beside ``kws_mobilenetv2``.

Example:
    >>> create_backbone("kws_frontend", weights=None).output_shape  # doctest: +SKIP
    (None, 2891)
"""
from __future__ import annotations

from transferkit.common.model.contracts import AudioContract
from transferkit.common.keras import keras
from transferkit.common.model.registry import register_backbone
from transferkit.speech.kws.backbone import CONTRACT
from transferkit.speech.kws.microfrontend import FrontendSettings, MicroFrontend


@register_backbone("kws_frontend", domain="speech", contract=CONTRACT,
                   description="TFLM microfrontend features only, flattened (baseline)",
                   licence="n/a (no weights)")
def kws_frontend(weights=None, contract: AudioContract = CONTRACT,
                 scale: float = 1.0 / 128.0) -> keras.Model:
    """Waveform ``[batch, 19200]`` -> ``[batch, 59 * 49]`` frontend values scaled by ``scale``."""
    if weights is not None:
        raise ValueError("kws_frontend has no weights; pass weights=None")
    wave = keras.Input((FrontendSettings().samples,), name="waveform")
    x = MicroFrontend(name="microfrontend")(wave)
    x = keras.layers.Rescaling(scale, name="scale")(x)  # int8-range values -> about ±1
    return keras.Model(wave, keras.layers.Flatten(name="flatten")(x), name="kws_frontend")
