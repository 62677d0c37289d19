"""Seed 3: transfer from *your own* saved model.

Without ``model=PATH`` the recipe first makes one, as the seed did: the MLP
784→32→32→32→10 trained on Fashion-MNIST's first five classes, saved as ``.h5``. It then
loads that file as a backbone, freezes all but a new last layer, and trains on the other
five classes from a few examples each — beside the same untrained architecture.
"""
from __future__ import annotations

import numpy as np

from transferkit.common.config import (BackboneConfig, DataConfig, HeadConfig, RunConfig,
                                       TrainConfig)
from transferkit.common.keras import keras
from transferkit.common.data.splits import split_examples
from transferkit.common.train.trainer import train_run
from transferkit.recipes.common import fashion_mnist_examples, out_path, report, say
from transferkit.common.recipe_registry import register_recipe

SOURCE = ("t-shirt_top", "trouser", "pullover", "dress", "coat")
TARGET = ("sandal", "shirt", "sneaker", "bag", "ankle_boot")


def seed_mlp() -> keras.Model:
    """The seed's 784→32→32→32→10 MLP."""
    return keras.Sequential([keras.Input((784,), name="pixels")] + [
        keras.layers.Dense(32, activation="relu", name=f"dense_{i}") for i in range(3)] + [
        keras.layers.Dense(10, activation="softmax", name="output")], name="seed_mlp")


def pretrain_source_model(path, n: int = 6000, epochs: int = 5) -> str:
    """Train the seed MLP on the source classes and save it (full model, .h5)."""
    from transferkit.vision.fashion_mnist import CLASS_NAMES, load_fashion_mnist

    images, labels = load_fashion_mnist("train")
    keep = np.isin(labels, [CLASS_NAMES.index(c) for c in SOURCE])
    x = images[keep][:n].reshape(-1, 784).astype("float32") / 255.0
    y = labels[keep][:n]
    model = seed_mlp()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, epochs=epochs, batch_size=64, verbose=0)
    say(f"source model: train accuracy {hist.history['accuracy'][-1]:.3f} on {len(x)} images")
    model.save(str(path))
    return str(path)


@register_recipe("own-model-transfer", domain="vision",
                 summary="seed 3: your own saved model (MLP 784-32-32-32-10) as a frozen "
                         "backbone, new last layer trained on new classes")
def own_model_transfer(out, *, quick=False, model="", per_class=20, epochs=60, seed=0):
    from transferkit.common.seed import set_global_seed

    out = out_path(out)
    set_global_seed(int(seed))  # the source model and the untrained one: same every run
    model = model or pretrain_source_model(out / "source_mlp.h5", epochs=2 if quick else 5)
    untrained = out / "untrained_mlp.h5"
    seed_mlp().save(str(untrained))
    examples = fashion_mnist_examples(int(per_class), "train", TARGET)
    test = fashion_mnist_examples(100, "test", TARGET)
    split = split_examples(examples, validation=0.2, test=0.0)
    from transferkit.common.data.splits import Splits

    splits = Splits(split.train, split.validation, test)
    figures = {}
    for label, weights in (("own_model", model), ("untrained", str(untrained))):
        config = RunConfig(
            domain="vision", recipe="own-model-transfer",
            backbone=BackboneConfig("own_model", weights, {"size": 28, "channels": 1}),
            head=HeadConfig(units=(), dropout=0.0),
            train=TrainConfig(epochs=int(epochs), learning_rate=1e-2, early_stopping_patience=10),
            data=DataConfig(train="fashion-mnist target classes"))
        figures[label] = train_run(config, out / label, splits=splits)
    print(f"target classes, {len(splits.train)} training images: own pretrained model "
          f"{figures['own_model'].metrics['test']['accuracy']:.4f} vs untrained same "
          f"architecture {figures['untrained'].metrics['test']['accuracy']:.4f}")
    return report(figures["own_model"], {
        "untrained_test_accuracy": figures["untrained"].metrics["test"]["accuracy"]})
