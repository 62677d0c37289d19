"""ResNet50 (He et al. 2015), from `tf_keras.applications`, ImageNet weights through Keras."""
from transferkit.common.model.contracts import ImageContract
from transferkit.common.keras import keras
from transferkit.common.model.registry import register_backbone
from transferkit.vision.applications.build import build_application


@register_backbone("resnet50", domain="vision", contract=ImageContract(size=224, scaling="caffe"),
                   weight_sources=("imagenet",), licence="Apache-2.0 (Keras applications)",
                   groups=("conv1", "conv2", "conv3", "conv4", "conv5"))  # its stages
def resnet50(weights=None, contract=None, pooling="avg", **kwargs):
    """ResNet50 (He et al. 2015); ImageNet features, pooled."""
    return build_application(keras.applications.ResNet50, name="resnet50", weights=weights,
                             contract=contract, pooling=pooling, **kwargs)
