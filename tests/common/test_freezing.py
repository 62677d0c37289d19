"""Freezing for the two phases: top-N / from-layer unfreezing, BatchNorm kept frozen."""
import numpy as np
import pytest

from transferkit.common.model.contracts import ImageContract
from transferkit.common.model.freezing import all_trainable, blocks, count_trainable, freeze, unfreeze
from transferkit.common.keras import keras
from tests.common.conftest import tiny_cnn_layers

CONTRACT = ImageContract(size=32, scaling="unit")


@pytest.fixture
def model():
    return tiny_cnn_layers(CONTRACT)


def _trainable(model) -> set:
    return {layer.name for layer in model.layers if layer.weights and layer.trainable
            and layer.trainable_weights}


def _params(model, *names) -> int:
    return sum(int(np.prod(w.shape)) for n in names for w in model.get_layer(n).weights)


def test_blocks_are_the_weighted_leaves_bottom_to_top(model):
    assert [b.name for b in blocks(model)] == ["conv1", "bn1", "conv2", "bn2", "conv3"]


def test_freeze_leaves_nothing_trainable(model):
    freeze(model)
    assert model.trainable_weights == [] and count_trainable(model) == 0


@pytest.mark.parametrize("top, unfrozen, trainable", [
    (1, ["conv3"], {"conv3"}),
    (3, ["conv2", "bn2", "conv3"], {"conv2", "conv3"}),
    (5, ["conv1", "bn1", "conv2", "bn2", "conv3"], {"conv1", "conv2", "conv3"}),
    (50, ["conv1", "bn1", "conv2", "bn2", "conv3"], {"conv1", "conv2", "conv3"}),
    (0, ["conv1", "bn1", "conv2", "bn2", "conv3"], {"conv1", "conv2", "conv3"}),
])
def test_unfreeze_top(model, top, unfrozen, trainable):
    freeze(model)
    assert unfreeze(model, top=top) == unfrozen
    assert _trainable(model) == trainable
    assert count_trainable(model) == _params(model, *trainable)
    assert not model.get_layer("bn1").trainable and not model.get_layer("bn2").trainable


def test_unfreeze_from_layer(model):
    freeze(model)
    assert unfreeze(model, from_layer="bn1") == ["bn1", "conv2", "bn2", "conv3"]
    assert _trainable(model) == {"conv2", "conv3"}
    assert unfreeze(model, from_layer="conv3") == ["conv3"]
    assert _trainable(model) == {"conv3"}  # a later call narrows again


def test_unfreeze_from_unknown_layer_names_it(model):
    with pytest.raises(ValueError, match="no layer named 'conv9'.*'conv3'"):
        unfreeze(model, from_layer="conv9")


def test_batchnorm_stays_in_inference_mode_while_fine_tuning(model):
    """Its moving statistics and scale are not touched by a training step."""
    unfreeze(model)
    head = keras.layers.Dense(2)(model.output)
    full = keras.Model(model.input, head)
    full.compile(keras.optimizers.Adam(1e-2),
                 keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.default_rng(0).uniform(0, 255, (8, 32, 32, 3)).astype("float32")
    bn_before = [w.copy() for w in model.get_layer("bn1").get_weights()]
    conv_before = model.get_layer("conv1").get_weights()[0].copy()
    np.testing.assert_allclose(full(x, training=True), full(x, training=False), atol=1e-6)
    full.fit(x, np.arange(8) % 2, epochs=2, batch_size=8, verbose=0)
    for before, after in zip(bn_before, model.get_layer("bn1").get_weights()):
        np.testing.assert_array_equal(before, after)
    assert not np.allclose(conv_before, model.get_layer("conv1").get_weights()[0])


def test_nested_backbone_unfreezes_through_the_inner_model(model):
    """Keras applications are nested models: the top N counts their leaves."""
    inputs = keras.Input((32, 32, 3))
    outer = keras.Model(inputs, keras.layers.Dense(4, name="proj")(model(inputs)))
    freeze(outer)
    assert unfreeze(outer, top=2) == ["conv3", "proj"]
    assert {w.name.split("/")[0] for w in outer.trainable_weights} == {"conv3", "proj"}
    assert count_trainable(outer) == _params(model, "conv3") + 4 * 16 + 4


def test_builder_blocks_override_the_leaves(model):
    """Top N counts the builder's units (here the convs), not every weighted leaf."""
    from transferkit.common.model.registry import Backbone

    backbone = Backbone(model, blocks=tuple(model.get_layer(n) for n in ("conv1", "conv2", "conv3")))
    freeze(backbone)
    assert unfreeze(backbone, top=2) == ["conv2", "conv3"]
    assert _trainable(model) == {"conv2", "conv3"}


def test_all_trainable_restores_flags_and_saves_canonical_order(model, tmp_path):
    freeze(model)
    unfreeze(model, top=3)
    flags = {layer.name: layer.trainable for layer in model.layers}
    with all_trainable(model):
        assert all(layer.trainable for layer in model.layers)
        model.save_weights(str(tmp_path / "w.h5"), save_format="h5")
    assert {layer.name: layer.trainable for layer in model.layers} == flags
    fresh = tiny_cnn_layers(CONTRACT)
    fresh.load_weights(str(tmp_path / "w.h5"))
    x = np.random.default_rng(1).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(fresh(x), model(x), atol=1e-6)
