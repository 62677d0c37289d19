"""Seed 3: transfer from your own saved model (the MLP 784→32→32→32→10), by API and by CLI.

The source MLP is trained here on synthetic 28x28 images (a bright block in one of ten
places), saved as ``.h5``, then used frozen as the backbone of a new task: which half of a
noisy image is bright (``pattern_dir``, four classes).
"""
import json

import numpy as np
import pytest

import transferkit
from transferkit.common.cli.parser import main
from transferkit.common.config import (BackboneConfig, DataConfig, HeadConfig, RunConfig,
                                       TrainConfig)
from transferkit.common.keras import keras
from transferkit.common.model.registry import create_backbone
from transferkit.common.train.trainer import train_run
from transferkit.common.model.weights import WeightsUnavailableError

OPTIONS = {"size": 28, "channels": 1}
CHANCE = 0.25  # four balanced classes


def seed_mlp(flatten_input: bool = True) -> keras.Model:
    """784→32→32→32→10, taking 28x28x1 images through Flatten (or 784-vectors)."""
    first = ([keras.Input((28, 28, 1)), keras.layers.Flatten(name="flatten")] if flatten_input
             else [keras.Input((784,))])
    return keras.Sequential(first + [
        keras.layers.Dense(32, activation="relu", name=f"dense_{i}") for i in range(3)] + [
        keras.layers.Dense(10, activation="softmax", name="output")], name="seed_mlp")


def block_images(n: int, seed: int = 0):
    """Source task: a bright 7x7 block in one of ten places (the label), on noise; 0..1."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    images = rng.uniform(0, 0.35, (n, 28, 28, 1)).astype("float32")
    for image, label in zip(images, labels):
        row, col = divmod(int(label), 4)
        image[7 * row:7 * row + 7, 7 * col:7 * col + 7] += 0.6
    return images, labels


@pytest.fixture(scope="module")
def source_models(tmp_path_factory):
    """The trained seed MLP as a full ``.h5``, as weights + JSON, and a 784-input variant."""
    root = tmp_path_factory.mktemp("own_model")
    x, y = block_images(1200)
    out = {}
    for name, flatten_input in (("mlp", True), ("vector_mlp", False)):
        model = seed_mlp(flatten_input)
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(x if flatten_input else x.reshape(-1, 784), y, epochs=8,
                            batch_size=32, verbose=0)
        assert history.history["accuracy"][-1] > 0.9  # the source model learnt its task
        model.save(str(root / f"{name}.h5"))
        out[name] = root / f"{name}.h5"
    model = keras.models.load_model(str(out["mlp"]), compile=False)
    model.save_weights(str(root / "mlp_weights.h5"))
    (root / "mlp.json").write_text(model.to_json())
    out.update(weights_only=root / "mlp_weights.h5", architecture=root / "mlp.json")
    return out


def _config(data, weights, **options):
    return RunConfig(
        backbone=BackboneConfig("own_model", str(weights), {**OPTIONS, **options}),
        head=HeadConfig(dropout=0.0),
        train=TrainConfig(epochs=30, learning_rate=1e-2, batch_size=16,
                          early_stopping_patience=0),
        data=DataConfig(train=str(data), validation_split=0.2, test_split=0.2))


@pytest.fixture(scope="module")
def own_run(source_models, pattern_dir, tmp_path_factory):
    return train_run(_config(pattern_dir, source_models["mlp"]),
                     tmp_path_factory.mktemp("own_run"), verbose=0)


def test_backbone_is_the_model_cut_before_its_output(source_models):
    source = keras.models.load_model(str(source_models["mlp"]), compile=False)
    backbone = create_backbone("own_model", weights=str(source_models["mlp"]), **OPTIONS).model
    assert backbone.output_shape == (None, 32)
    x = np.random.default_rng(0).uniform(0, 255, (3, 28, 28, 1)).astype("float32")
    cut = keras.Model(source.inputs, source.get_layer("dense_2").output)
    np.testing.assert_allclose(backbone(x).numpy(), cut(x / 255.0).numpy(), atol=1e-5)


def test_own_model_transfer_learns_with_a_frozen_backbone(own_run, source_models):
    assert own_run.metrics["test"]["accuracy"] >= CHANCE + 0.4, own_run.metrics["test"]
    source = keras.models.load_model(str(source_models["mlp"]), compile=False)
    trained = {w.name.split("/")[-2] + "/" + w.name.split("/")[-1]: w.numpy()
               for w in own_run.model.weights if "dense_" in w.name}
    assert len(trained) == 6  # three Dense kernels and biases, none of them the old output
    for layer in ("dense_0", "dense_1", "dense_2"):
        kernel, bias = source.get_layer(layer).get_weights()
        np.testing.assert_array_equal(trained[f"{layer}/kernel:0"], kernel)
        np.testing.assert_array_equal(trained[f"{layer}/bias:0"], bias)
    head = own_run.model.get_layer("head")
    assert head.get_layer("predictions").output_shape == (None, 4)  # the new last layer


def test_own_model_run_reloads_and_predicts(own_run, pattern_dir):
    run = transferkit.load(own_run.run_dir)
    files = sorted(pattern_dir.glob("*/*.png"))[::5]
    predicted = [label for label, _ in run.classify([str(f) for f in files])]
    truth = [f.parent.name for f in files]
    assert np.mean(np.array(predicted) == np.array(truth)) >= CHANCE + 0.4


def test_vector_input_model_gets_flattened_pixels(source_models, pattern_dir, tmp_path):
    backbone = create_backbone("own_model", weights=str(source_models["vector_mlp"]),
                               **OPTIONS).model
    assert backbone.get_layer("flatten_pixels").output_shape == (None, 784)
    result = train_run(_config(pattern_dir, source_models["vector_mlp"]), tmp_path, verbose=0)
    assert result.metrics["test"]["accuracy"] >= CHANCE + 0.4


def test_weights_only_file_with_architecture_json(source_models, pattern_dir, tmp_path):
    full = create_backbone("own_model", weights=str(source_models["mlp"]), **OPTIONS)
    split = create_backbone("own_model", weights=str(source_models["weights_only"]),
                            architecture=str(source_models["architecture"]), **OPTIONS)
    x = np.random.default_rng(1).uniform(0, 255, (2, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(split.model(x).numpy(), full.model(x).numpy(), atol=1e-6)
    result = train_run(_config(pattern_dir, source_models["weights_only"],
                               architecture=str(source_models["architecture"])),
                       tmp_path, verbose=0)
    assert result.metrics["test"]["accuracy"] >= CHANCE + 0.4


def test_weights_only_file_without_architecture_says_what_is_missing(source_models):
    with pytest.raises(ValueError, match="architecture=model.json"):
        create_backbone("own_model", weights=str(source_models["weights_only"]), **OPTIONS)


def test_missing_model_file_is_named(tmp_path):
    missing = tmp_path / "my_model.h5"
    with pytest.raises(WeightsUnavailableError, match="my_model.h5"):
        create_backbone("own_model", weights=str(missing), **OPTIONS)
    with pytest.raises(WeightsUnavailableError, match="--weights PATH"):
        create_backbone("own_model", weights=None, **OPTIONS)


def test_wrong_image_size_names_the_fix(source_models):
    with pytest.raises(ValueError, match="--option size=28 --option channels=1"):
        create_backbone("own_model", weights=str(source_models["mlp"]), size=32, channels=3)
    with pytest.raises(ValueError, match="--option size=28 --option channels=1"):
        create_backbone("own_model", weights=str(source_models["vector_mlp"]), size=32)


def test_classic_mlp_on_28x28_without_a_channel_axis(tmp_path):
    """``Flatten(input_shape=(28, 28))``: the Keras Fashion-MNIST tutorial's model."""
    model = keras.Sequential([keras.layers.Flatten(input_shape=(28, 28)),
                              keras.layers.Dense(16, activation="relu", name="hidden"),
                              keras.layers.Dense(10, name="logits")])
    model.save(str(tmp_path / "classic.h5"))
    backbone = create_backbone("own_model", weights=str(tmp_path / "classic.h5"), **OPTIONS).model
    x = np.random.default_rng(4).uniform(0, 255, (2, 28, 28, 1)).astype("float32")
    want = keras.Model(model.inputs, model.get_layer("hidden").output)(x[..., 0] / 255.0)
    np.testing.assert_allclose(backbone(x).numpy(), want.numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="--option size=28 --option channels=1"):
        create_backbone("own_model", weights=str(tmp_path / "classic.h5"), size=28, channels=3)


def test_any_size_cnn_takes_the_contract_size(tmp_path):
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    keras.Model(inputs, keras.layers.Dense(2, name="out")(x)).save(str(tmp_path / "cnn.h5"))
    backbone = create_backbone("own_model", weights=str(tmp_path / "cnn.h5"), size=40,
                               channels=3).model
    assert backbone.input_shape == (None, 40, 40, 3) and backbone.output_shape == (None, 4)


def test_cli_train_predict_evaluate(source_models, pattern_dir, tmp_path, capsys):
    out = tmp_path / "cli_run"
    assert main(["train", "--data", str(pattern_dir), "--backbone", "own_model",
                 "--weights", str(source_models["mlp"]), "--option", "size=28",
                 "--option", "channels=1", "--epochs", "30", "--learning-rate", "0.01",
                 "--batch-size", "16", "--dropout", "0", "--early-stopping-patience", "0",
                 "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= CHANCE + 0.4
    config = json.loads((out / "config.json").read_text())
    assert config["backbone"] == {"name": "own_model", "weights": str(source_models["mlp"]),
                                  "options": OPTIONS}
    capsys.readouterr()
    image = sorted((pattern_dir / "top").glob("*.png"))[0]
    assert main(["predict", str(out), str(image), "--json"]) == 0
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert row["input"] == str(image) and row["label"] in {"top", "bottom", "left", "right"}
    assert main(["evaluate", str(out), "--data", str(pattern_dir)]) == 0
    assert "accuracy" in capsys.readouterr().out


def test_cli_missing_model_file_is_a_clear_error(pattern_dir, tmp_path, capsys):
    missing = tmp_path / "nowhere" / "mlp.h5"
    code = main(["train", "--data", str(pattern_dir), "--backbone", "own_model",
                 "--weights", str(missing), "--out", str(tmp_path / "run")])
    assert code == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "--weights PATH" in err


def test_export_rebuilds_an_own_model_run(own_run):
    model = transferkit.load(own_run.run_dir).keras_model()
    x = np.random.default_rng(3).uniform(0, 255, (2, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               own_run.model.predict(x, verbose=0), atol=1e-5)
