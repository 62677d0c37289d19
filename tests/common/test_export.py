"""``export_run`` on the colour run: three formats, int8, parity, temperature, tampering.

The run is a copy of ``colour_run`` whose ``calibration.json`` says T = 2, so every export
must give ``softmax(log p / 2)`` of the Keras model's ``p``.
"""
import json
import shutil

import numpy as np
import pytest

from tests.common.conftest import COLOURS
from tests.run_helpers import set_temperature

T = 2.0


@pytest.fixture(scope="module")
def t2_run(colour_run, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("export") / "t2"
    shutil.copytree(colour_run.result.run_dir, run_dir,
                    ignore=shutil.ignore_patterns("checkpoints", "export", "model.tflite"))
    return set_temperature(run_dir, T)


@pytest.fixture(scope="module")
def holdout(colour_holdout, t2_run):
    """Held-out files, their pixels, and the Keras model's outputs with T = 2 applied."""
    from PIL import Image

    from transferkit.common.output.calibration import apply_temperature
    from transferkit.common.output.rundir import load

    items = [str(p) for p in sorted(colour_holdout.rglob("*.png"))]
    pixels = np.stack([np.asarray(Image.open(p).convert("RGB"), np.float32) for p in items])
    probs = load(t2_run).keras_model().predict(pixels, verbose=0)
    return items, pixels, apply_temperature(probs, T)


def _outputs(fmt, folder, items, pixels):
    from transferkit.common.keras import keras, tf
    from transferkit.common.output.tflite import TFLitePredictor

    if fmt == "savedmodel":
        sigs = tf.saved_model.load(str(folder / "saved_model")).signatures
        raw = tf.constant([open(p, "rb").read() for p in items])
        return [sigs["serving_default"](image_bytes=raw)["output_0"].numpy(),
                sigs["serving_images"](images=tf.constant(pixels))["output_0"].numpy()]
    if fmt == "keras":
        return [keras.models.load_model(str(folder / "model.keras")).predict(pixels, verbose=0)]
    return [TFLitePredictor((folder / "model.tflite").read_bytes()).predict(pixels)]


@pytest.mark.parametrize("fmt, quantize, atol", [
    ("savedmodel", None, 1e-5), ("keras", None, 1e-5), ("tflite", None, 1e-5),
    ("tflite", "int8", 0.1)])
def test_export_applies_the_temperature_and_records_parity(t2_run, holdout, fmt, quantize,
                                                           atol):
    from transferkit.common.output.export_run import export_run

    items, pixels, want = holdout
    result = export_run(t2_run, fmt, quantize)
    name = fmt + (f"-{quantize}" if quantize else "")
    assert result.out_dir == t2_run / "export" / name
    assert {"labels.txt", "MODEL_CARD.md", "parity.json"} <= set(result.files)
    assert (result.out_dir / "labels.txt").read_text().splitlines() == list(COLOURS)
    record = json.loads((result.out_dir / "parity.json").read_text())
    assert record["passed"] and record["temperature"] == T and record["examples"] == 30
    assert record["items_from"] == "predictions.npz test_items"
    assert (record["interpreter"] or "").startswith("ai_edge_litert") == (fmt == "tflite")
    print(f"\nvision {name}: " + result.parity.line())
    for got in _outputs(fmt, result.out_dir, items, pixels):
        np.testing.assert_allclose(got, want, atol=atol)
        assert np.mean(got.argmax(1) == want.argmax(1)) >= 0.95
    text = "\n".join(result.lines())
    assert str(result.out_dir) in text and "top-1 agreement" in text


def _output_dense(model):
    from transferkit.common.keras import keras

    layers = [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.Dense)]
    return layers[-1]


def _flip(kernel):
    return kernel[:, ::-1].copy()  # swaps the classes' weights: top-1 moves


def _tflite_weights(content, shape):
    from transferkit.common.output.tflite import TFLitePredictor

    interpreter = TFLitePredictor(content).interpreter
    interpreter.allocate_tensors()
    (weights,) = [interpreter.get_tensor(d["index"]) for d in interpreter.get_tensor_details()
                  if tuple(d["shape"]) == shape]
    return np.ascontiguousarray(weights, "<f4")


def test_a_tampered_export_fails_its_check(t2_run, tmp_path):
    from transferkit.common.keras import keras, tf
    from transferkit.common.output.export_run import check_export, export_run
    from transferkit.common.output.parity import ParityError

    lite = export_run(t2_run, "tflite", out=tmp_path / "lite").out_dir
    content = (lite / "model.tflite").read_bytes()
    # The output layer's weights as the converter stored them ([out, in], the features'
    # standardisation folded in): flip their rows in the file's bytes.
    stored = _tflite_weights(content, (len(COLOURS), 16))
    assert content.count(stored.tobytes()) == 1
    (lite / "model.tflite").write_bytes(content.replace(stored.tobytes(),
                                                        stored[::-1].tobytes()))
    kernel = _output_dense(keras.models.load_model(str(t2_run / "model.keras"),
                                                   compile=False)).kernel.numpy()

    keras_dir = export_run(t2_run, "keras", out=tmp_path / "keras").out_dir
    model = keras.models.load_model(str(keras_dir / "model.keras"))
    _output_dense(model).kernel.assign(_flip(_output_dense(model).kernel.numpy()))
    model.save(str(keras_dir / "model.keras"))

    sm_dir = export_run(t2_run, "savedmodel", out=tmp_path / "sm").out_dir
    loaded = tf.saved_model.load(str(sm_dir / "saved_model"))
    (var,) = [v for v in loaded.signatures["serving_default"].variables
              if tuple(v.shape) == kernel.shape]
    var.assign(_flip(var.numpy()))
    tf.saved_model.save(loaded, str(tmp_path / "resaved"), signatures=dict(loaded.signatures))
    shutil.rmtree(sm_dir / "saved_model")
    shutil.move(tmp_path / "resaved", sm_dir / "saved_model")

    for folder, name in ((lite, "model.tflite"), (keras_dir, "model.keras"),
                         (sm_dir, "saved_model")):
        with pytest.raises(ParityError, match=rf"{name}: .*top-1 agreement 0\.\d+ < 0\.99"):
            check_export(folder)


def test_a_failing_export_leaves_the_previous_one(t2_run, tmp_path, monkeypatch):
    from transferkit.common.keras import keras
    from transferkit.common.output import export_run as module
    from transferkit.common.output.parity import ParityError

    out = tmp_path / "keras"
    module.export_run(t2_run, "keras", out=out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real = module.keras_file_error

    def tampered(model, path):
        copy = keras.models.clone_model(model)
        copy.set_weights(model.get_weights())
        dense = _output_dense(copy)
        dense.kernel.assign(dense.kernel.numpy() * 3.0)  # same top-1, other probabilities
        return real(copy, path)

    monkeypatch.setattr(module, "keras_file_error", tampered)
    with pytest.raises(ParityError, match=r"keras/model\.keras: .*max \|diff\| .* > 0\.001.*not "
                                          r"written"):
        module.export_run(t2_run, "keras", out=out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keras"]  # no temporary folder


def test_bad_format_or_quantize_is_refused(t2_run):
    from transferkit.common.output.export_run import export_run

    with pytest.raises(ValueError, match="savedmodel, keras, tflite"):
        export_run(t2_run, "onnx")
    with pytest.raises(ValueError, match="tflite only"):
        export_run(t2_run, "keras", quantize="int8")


def test_a_truncated_weights_file_names_itself(colour_run, tmp_path):
    from transferkit.common.output.rundir import DamagedRunError, load

    run_dir = tmp_path / "run"
    shutil.copytree(colour_run.result.run_dir, run_dir)
    weights = run_dir / "model_weights.h5"
    weights.write_bytes(weights.read_bytes()[:2000])
    with pytest.raises(DamagedRunError, match="model_weights.h5.*damaged"):
        load(run_dir).keras_model()


def test_int8_calibrates_on_saved_validation_items_when_the_training_data_is_gone(
        colour_run, tmp_path):
    # A recipe's run names its data in words ("Fashion-MNIST (Debian ...)"), not a path.
    from transferkit.common.output.parity import training_sample
    from transferkit.common.output.rundir import load

    run_dir = tmp_path / "run"
    shutil.copytree(colour_run.result.run_dir, run_dir)
    config = json.loads((run_dir / "config.json").read_text())
    config["data"]["train"] = "colours, made by the tests"
    (run_dir / "config.json").write_text(json.dumps(config))
    with np.load(run_dir / "predictions.npz") as saved:
        validation = {str(i) for i in saved["validation_items"]}
    picked = training_sample(load(run_dir), n=10)
    assert len(picked) == min(10, len(validation)) and set(picked) <= validation
