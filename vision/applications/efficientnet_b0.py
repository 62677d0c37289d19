"""EfficientNetB0 (Tan & Le 2019), from `tf_keras.applications`, ImageNet weights through Keras."""
from transferkit.common.model.contracts import ImageContract
from transferkit.common.keras import keras
from transferkit.common.model.registry import register_backbone
from transferkit.vision.applications.build import build_application


@register_backbone("efficientnet_b0", domain="vision", contract=ImageContract(size=224, scaling="none"),
                   weight_sources=("imagenet",), licence="Apache-2.0 (Keras applications)",
                   groups=("stem", "block1", "block2", "block3", "block4", "block5",
                           "block6", "block7", "top"))
def efficientnet_b0(weights=None, contract=None, pooling="avg", **kwargs):
    """EfficientNetB0 (Tan & Le 2019); ImageNet features, pooled."""
    return build_application(keras.applications.EfficientNetB0, name="efficientnet_b0", weights=weights,
                             contract=contract, pooling=pooling, **kwargs)
