"""VGG16 (Simonyan & Zisserman 2014), from `tf_keras.applications`, ImageNet weights through Keras."""
from transferkit.common.model.contracts import ImageContract
from transferkit.common.keras import keras
from transferkit.common.model.registry import register_backbone
from transferkit.vision.applications.build import build_application


@register_backbone("vgg16", domain="vision", contract=ImageContract(size=224, scaling="caffe"),
                   weight_sources=("imagenet",), licence="Apache-2.0 (Keras applications)",
                   groups=("block1", "block2", "block3", "block4", "block5"))
def vgg16(weights=None, contract=None, pooling="avg", **kwargs):
    """VGG16 (Simonyan & Zisserman 2014); ImageNet features, pooled."""
    return build_application(keras.applications.VGG16, name="vgg16", weights=weights,
                             contract=contract, pooling=pooling, **kwargs)
