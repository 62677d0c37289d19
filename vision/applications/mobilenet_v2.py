"""MobileNetV2 (Sandler et al. 2018), from `tf_keras.applications`, ImageNet weights through Keras."""
from transferkit.common.model.contracts import ImageContract
from transferkit.common.keras import keras
from transferkit.common.model.registry import register_backbone
from transferkit.vision.applications.build import build_application


@register_backbone("mobilenet_v2", domain="vision", contract=ImageContract(size=224, scaling="tf"),
                   weight_sources=("imagenet",), licence="Apache-2.0 (Keras applications)",
                   groups=("Conv1", "block_1_", "block_3_", "block_6_", "block_10_", "block_13_",
                           "block_16_"))  # its stages: 24, 32, 64, 96, 160, 320 channels
def mobilenet_v2(weights=None, contract=None, pooling="avg", **kwargs):
    """MobileNetV2 (Sandler et al. 2018); ImageNet features, pooled."""
    return build_application(keras.applications.MobileNetV2, name="mobilenet_v2", weights=weights,
                             contract=contract, pooling=pooling, **kwargs)
