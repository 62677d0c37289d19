"""MobileNetV2 (Sandler et al. 2018), from `tf_keras.applications`, ImageNet weights through Keras."""
from transferkit.common.model.contracts import ImageContract
from transferkit.common.keras import keras
from transferkit.common.model.registry import register_backbone
from transferkit.vision.applications.build import build_application


@register_backbone("mobilenet_v2", domain="vision", contract=ImageContract(size=224, scaling="tf"),
                   weight_sources=("imagenet",), licence="Apache-2.0 (Keras applications)")
def mobilenet_v2(weights=None, contract=None, pooling="avg", **kwargs):
    """MobileNetV2 (Sandler et al. 2018); ImageNet features, pooled."""
    return build_application(keras.applications.MobileNetV2, name="mobilenet_v2", weights=weights,
                             contract=contract, pooling=pooling, **kwargs)
