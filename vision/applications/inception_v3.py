"""InceptionV3 (Szegedy et al. 2015), from `tf_keras.applications`, ImageNet weights through Keras."""
from transferkit.common.model.contracts import ImageContract
from transferkit.common.keras import keras
from transferkit.common.model.registry import register_backbone
from transferkit.vision.applications.build import build_application


@register_backbone("inception_v3", domain="vision", contract=ImageContract(size=299, scaling="tf"),
                   weight_sources=("imagenet",), licence="Apache-2.0 (Keras applications)")
def inception_v3(weights=None, contract=None, pooling="avg", **kwargs):
    """InceptionV3 (Szegedy et al. 2015); ImageNet features, pooled."""
    return build_application(keras.applications.InceptionV3, name="inception_v3", weights=weights,
                             contract=contract, pooling=pooling, **kwargs)
