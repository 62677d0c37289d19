"""Nothing in a user's model file runs unless the user says so (``--trust-model-code``).

The crafted model's ``Lambda`` writes a marker file whenever it is called, and Keras calls
it while rebuilding the model on load: the marker appearing means the file's code ran.
"""
import shutil

import numpy as np
import pytest

import transferkit
from transferkit.common.cli.commands import config_from_args
from transferkit.common.cli.parser import build_parser, main
from transferkit.common.config import (BackboneConfig, DataConfig, HeadConfig, RunConfig,
                                       TrainConfig)
from transferkit.common.keras import keras
from transferkit.common.model.registry import create_backbone
from transferkit.common.output.export_run import export_run
from transferkit.common.train.trainer import train_run
from transferkit.vision.safe_model import UnsafeModelError

OPTIONS = {"size": 28, "channels": 1}
FORMATS = ("keras", "h5", "savedmodel")


def _mlp_layers(x):
    x = keras.layers.Dense(8, activation="relu", name="hidden")(x)
    return keras.layers.Dense(3, activation="softmax", name="out")(x)


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    """A model whose Lambda ``touch`` writes ``MARKER`` when called, in every format."""
    root = tmp_path_factory.mktemp("crafted")
    marker = root / "MARKER"

    def touch(x, marker=str(marker)):  # a default, not a closure: it survives marshalling
        open(marker, "w").close()
        return x

    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Lambda(touch, name="touch")(keras.layers.Flatten(name="flat")(inputs))
    model = keras.Model(inputs, _mlp_layers(x))
    paths = {"keras": root / "m.keras", "h5": root / "m.h5", "savedmodel": root / "m_saved"}
    model.save(str(paths["keras"]))
    model.save(str(paths["h5"]))
    model.save(str(paths["savedmodel"]), save_format="tf")
    model.save_weights(str(root / "weights.h5"))
    (root / "model.json").write_text(model.to_json())
    paths.update(weights=root / "weights.h5", architecture=root / "model.json", marker=marker)
    marker.unlink()  # building and saving called it; loading must not
    return paths


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_lambda_model_is_refused_by_default_and_never_runs(crafted, fmt):
    crafted["marker"].unlink(missing_ok=True)
    with pytest.raises(UnsafeModelError) as error:
        create_backbone("own_model", weights=str(crafted[fmt]), **OPTIONS)
    message = str(error.value)
    for part in (str(crafted[fmt]), "'touch'", "Lambda", "--trust-model-code",
                 "architecture=model.json"):
        assert part in message, message
    assert not crafted["marker"].exists()


def test_a_lambda_in_the_architecture_json_is_refused(crafted):
    crafted["marker"].unlink(missing_ok=True)
    with pytest.raises(UnsafeModelError, match="model.json.*'touch' is a Lambda"):
        create_backbone("own_model", weights=str(crafted["weights"]),
                        architecture=str(crafted["architecture"]), **OPTIONS)
    assert not crafted["marker"].exists()


def test_with_trust_the_h5_loads_and_its_code_runs(crafted):
    crafted["marker"].unlink(missing_ok=True)
    backbone = create_backbone("own_model", weights=str(crafted["h5"]), trust_model_code=True,
                               **OPTIONS)
    assert backbone.model.output_shape == (None, 8)
    assert crafted["marker"].exists()  # so the refusals above did stop real code
    crafted["marker"].unlink()


@keras.utils.register_keras_serializable(package="Mine")
class Doubler(keras.layers.Layer):
    """A user's own layer: its code is whatever the file's author wrote."""

    def call(self, x):
        return 2 * x


@pytest.mark.parametrize("name", ["custom.h5", "custom.keras"])
def test_a_custom_class_is_refused_naming_it(tmp_path, name):
    inputs = keras.Input((28, 28, 1))
    x = Doubler(name="double")(keras.layers.Flatten()(inputs))
    keras.Model(inputs, _mlp_layers(x)).save(str(tmp_path / name))
    with pytest.raises(UnsafeModelError, match=name + r": layer 'double' is class "
                                               r"'Mine>Doubler', not a built-in"):
        create_backbone("own_model", weights=str(tmp_path / name), **OPTIONS)


@pytest.mark.parametrize("name", ["plain.keras", "plain_saved"])
def test_built_in_layers_load_from_keras_and_savedmodel(tmp_path, name):
    inputs = keras.Input((28, 28, 1))
    keras.Model(inputs, _mlp_layers(keras.layers.Flatten()(inputs))).save(str(tmp_path / name))
    backbone = create_backbone("own_model", weights=str(tmp_path / name), **OPTIONS)
    assert backbone.model.output_shape == (None, 8)


def test_cli_refuses_by_default_and_the_flag_is_recorded(crafted, pattern_dir, tmp_path, capsys):
    code = main(["train", "--data", str(pattern_dir), "--backbone", "own_model",
                 "--weights", str(crafted["h5"]), "--out", str(tmp_path / "run")])
    assert code == 2
    assert str(crafted["h5"]) in capsys.readouterr().err
    args = build_parser().parse_args(["train", "--out", str(tmp_path), "--trust-model-code",
                                      "--backbone", "own_model"])
    assert config_from_args(args).backbone.options == {"trust_model_code": True}
    args = build_parser().parse_args(["train", "--out", str(tmp_path), "--trust-model-code",
                                      "--backbone", "mobilenet_v1"])
    with pytest.raises(ValueError, match="own_model backbone"):
        config_from_args(args)
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "--trust-model-code" in capsys.readouterr().out


def test_a_run_outlives_its_original_model_file(pattern_dir, tmp_path):
    """export and load never re-open the user's file: the run holds its own model."""
    inputs = keras.Input((28, 28, 1))
    source = tmp_path / "mine.h5"
    keras.Model(inputs, _mlp_layers(keras.layers.Flatten()(inputs))).save(str(source))
    config = RunConfig(backbone=BackboneConfig("own_model", str(source), OPTIONS),
                       head=HeadConfig(dropout=0.0), train=TrainConfig(epochs=3),
                       data=DataConfig(train=str(pattern_dir), validation_split=0.2,
                                       test_split=0.2))
    result = train_run(config, tmp_path / "run", verbose=0)
    source.unlink()
    run = transferkit.load(result.run_dir)
    images = [str(p) for p in sorted(pattern_dir.glob("*/*.png"))[:4]]
    np.testing.assert_allclose(run.predict(images).sum(axis=1), 1.0, atol=1e-4)
    pixels = np.random.default_rng(0).uniform(0, 255, (2, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(run.keras_model().predict(pixels, verbose=0),
                               result.model.predict(pixels, verbose=0), atol=1e-5)
    exported = export_run(result.run_dir, "keras")
    assert exported.parity.passed and (exported.out_dir / "model.keras").is_file()
    shutil.rmtree(exported.out_dir)
