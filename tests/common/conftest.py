"""Shared fixtures for the ``common`` tests: a tiny CNN backbone and learnable synthetic images.

The tiny backbone is registered like any other (timm's ``test_*`` architectures) and removed
again at the end of the session. Images are written by the tests with PIL; nothing is
downloaded.
"""
import csv
from dataclasses import dataclass, field

import numpy as np
import pytest

from transferkit.common.keras import keras, tf

TINY = "tiny_cnn_test"
SIZE = 32
COLOURS = ("blue", "green", "red")  # the dominant channel of each class
CHANNEL = {"red": 0, "green": 1, "blue": 2}


def tiny_cnn_layers(contract, counter: bool = False):
    """conv1 -> bn1 -> conv2 -> bn2 -> conv3 -> global average pool: 5 weighted blocks.

    With ``counter`` a last identity layer counts the images that really pass through.
    """
    from transferkit.vision.preprocessing import ImageScaling, image_input

    inputs = image_input(contract)
    x = ImageScaling(contract.scaling, name="scaling")(inputs)
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", name="conv1")(x)
    x = keras.layers.BatchNormalization(name="bn1")(x)
    x = keras.layers.ReLU(name="relu1")(x)
    x = keras.layers.Conv2D(16, 3, strides=2, padding="same", name="conv2")(x)
    x = keras.layers.BatchNormalization(name="bn2")(x)
    x = keras.layers.ReLU(name="relu2")(x)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv3")(x)
    outputs = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    if counter:
        outputs = CountImages(name="counter")(outputs)
    return keras.Model(inputs, outputs, name=TINY)


class CountImages(keras.layers.Layer):
    """Identity that adds the batch size to its ``count`` weight each time it really runs.

    It sits last, so the embedding cache's weight fingerprint (the first arrays) ignores it.
    """

    def build(self, input_shape):
        self.count = self.add_weight("count", shape=(), dtype="int64", trainable=False,
                                     initializer="zeros")

    def call(self, x):
        self.count.assign_add(tf.shape(x, out_type=tf.int64)[0])
        return tf.identity(x)


@dataclass
class Tiny:
    """What the registered tiny backbone's builder has built, for inspection by tests."""

    name: str = TINY
    built: list = field(default_factory=list)


@pytest.fixture(scope="session")
def tiny_backbone():
    """Registers ``tiny_cnn_test`` (vision, 32x32, unit scaling) for the whole session."""
    from transferkit.common.model.contracts import ImageContract
    from transferkit.common.model.registry import register_backbone, unregister_backbone

    info = Tiny()

    @register_backbone(TINY, domain="vision", contract=ImageContract(size=SIZE, scaling="unit"),
                       description="tiny random CNN for the common tests", licence="n/a")
    def build(weights=None, contract=None, counter=False):
        if weights is not None:
            raise ValueError(f"{TINY} has no pretrained weights, got {weights!r}")
        model = tiny_cnn_layers(contract, counter)
        info.built.append(model)
        return model

    yield info
    unregister_backbone(TINY)


def colour_image(rng, colour: str | None = None, brightness: float | None = None,
                 channels=()) -> np.ndarray:
    """32x32 RGB noise: one dominant channel, a set of lit channels, or a grey level."""
    if brightness is not None:
        level = brightness * 255.0
        return np.clip(rng.normal(level, 12.0, (SIZE, SIZE, 3)), 0, 255).astype(np.uint8)
    image = rng.uniform(0, 90, (SIZE, SIZE, 3))
    lit = [CHANNEL[colour]] if colour else [CHANNEL[c] for c in channels]
    for ch in lit:
        image[..., ch] = rng.uniform(150, 255, (SIZE, SIZE))
    return image.astype(np.uint8)


def write_png(path, array) -> str:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return str(path)


def write_folders(root, classes, make, per_class: int, seed: int = 0):
    """``root/<class>/<class>_<i>.png`` for every class; ``make(rng, cls)`` draws one image."""
    rng = np.random.default_rng(seed)
    for cls in classes:
        for i in range(per_class):
            write_png(root / cls / f"{cls}_{i:03d}.png", make(rng, cls))
    return root


@pytest.fixture(scope="session")
def colour_folders(session_tmp):
    """``colours/{blue,green,red}/*.png``: 40 per class, dominated by that channel."""
    return write_folders(session_tmp / "colours", COLOURS, colour_image, per_class=40)


@pytest.fixture(scope="session")
def colour_holdout(session_tmp):
    """A second, smaller labelled folder of the same classes (for evaluate/predict)."""
    return write_folders(session_tmp / "colours_holdout", COLOURS, colour_image, per_class=6,
                         seed=1)


def write_csv(path, rows, header=("path", "label")) -> str:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def run_config(data, **train):
    """A phase-1-only config for the tiny backbone: cached features, many cheap epochs."""
    from transferkit.common.config import (BackboneConfig, DataConfig, HeadConfig, RunConfig,
                                           TrainConfig)

    # data checks (on by default) are tested on colour_run, the CLI and the recipes; these
    # runs, in-process and in the kill/distribute workers, test other things
    defaults = dict(epochs=30, batch_size=16, learning_rate=3e-2, early_stopping_patience=0,
                    data_checks=False)
    return RunConfig(domain="vision", backbone=BackboneConfig(TINY, None),
                     head=HeadConfig(dropout=0.0),
                     train=TrainConfig(**{**defaults, **train}),
                     data=DataConfig(train=str(data), validation_split=0.2, test_split=0.25))


@dataclass
class TrainedRun:
    """The two-phase colour run, with the backbone's weights from before training."""

    result: object
    backbone: object
    initial: dict  # layer name -> list of weight arrays at build time
    config: object


@pytest.fixture(scope="session")
def colour_run(tiny_backbone, colour_folders, session_tmp):
    """Phase 1 (head on cached features), then phase 2 on the top 3 blocks at a 0.1 LR ratio.

    Top 3 blocks are conv2, bn2, conv3: bn2 must stay frozen, conv1/bn1 untouched.
    """
    import dataclasses

    from transferkit.common.model.registry import create_backbone
    from transferkit.common.train.trainer import train_run

    from transferkit.common.seed import set_global_seed

    config = run_config(colour_folders, fine_tune_epochs=3, unfreeze_top=3, data_checks=True,
                        fine_tune_learning_rate=1e-3, backbone_lr_multiplier=0.1,
                        # all at once at one constant backbone LR (not the gradual default)
                        unfreeze_schedule="all", lr_group_decay=1.0, lr_decay="constant",
                        warmup_epochs=0.0)
    set_global_seed(0)
    backbone = create_backbone(TINY, weights=None)
    initial = {layer.name: [w.copy() for w in layer.get_weights()]
               for layer in backbone.model.layers if layer.weights}
    result = train_run(config, session_tmp / "runs" / "colours", backbone=backbone, verbose=0)
    return TrainedRun(result=result, backbone=backbone, initial=initial,
                      config=dataclasses.replace(config, domain="vision"))
