"""TFLite export of a trained run agrees with its SavedModel and Keras model."""
import re
import warnings

import numpy as np
import pytest

from tests.common.conftest import COLOURS


def _tflite_predict(path, images):
    from transferkit.common.output.tflite import _interpreter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter's deprecation notice
        interpreter = _interpreter(path.read_bytes())
    detail = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(detail["index"], list(images.shape))
    interpreter.allocate_tensors()
    interpreter.set_tensor(detail["index"], images)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


@pytest.fixture(scope="module")
def holdout_pixels(colour_holdout):
    from PIL import Image

    paths = sorted(colour_holdout.rglob("*.png"))
    return [str(p) for p in paths], np.stack(
        [np.asarray(Image.open(p).convert("RGB"), np.float32) for p in paths])


@pytest.mark.parametrize("quantize, atol", [("none", 1e-5), ("dynamic", 0.05)])
def test_tflite_agrees_with_the_keras_model(colour_run, holdout_pixels, quantize, atol):
    from transferkit.common.output.calibration import apply_temperature
    from transferkit.common.output.rundir import load
    from transferkit.common.output.tflite import export_tflite

    path, diff = export_tflite(colour_run.result.run_dir, quantize)
    assert path == colour_run.result.run_dir / "model.tflite" and path.stat().st_size > 0
    assert 0.0 <= diff < atol  # its own parity check, on the run's test split
    items, pixels = holdout_pixels
    lite = _tflite_predict(path, pixels)
    # Exports apply the run's fitted temperature (calibration.json); the trainer's model not.
    keras_out = apply_temperature(colour_run.result.model.predict(pixels, verbose=0),
                                  load(colour_run.result.run_dir).temperature or 1.0)
    print(f"\ntflite {quantize}: max |TFLite - Keras| {np.max(np.abs(lite - keras_out)):.2e}")
    np.testing.assert_allclose(lite, keras_out, atol=atol)
    np.testing.assert_allclose(lite, load(colour_run.result.run_dir).predict(items), atol=atol)
    assert [COLOURS[i] for i in lite.argmax(1)] == [COLOURS[i] for i in keras_out.argmax(1)]


def test_tflite_of_a_missing_run_names_it(tmp_path):
    from transferkit.common.output.tflite import export_tflite

    with pytest.raises(OSError, match=re.escape(str(tmp_path / "saved_model"))):
        export_tflite(tmp_path)


def test_a_flex_model_is_written_and_said_to_need_the_delegate(tmp_path, capsys):
    # An op with no TFLite builtin (a matrix determinant) converts only as a TF select (Flex)
    # op, which the pip interpreter cannot run: the file is kept and the missing check is
    # said, not hidden.
    import math

    from transferkit.common.keras import keras, tf
    from transferkit.common.output.tflite import export_tflite

    class Determinant(keras.layers.Layer):
        def call(self, x):
            return tf.linalg.det(tf.reshape(x, [-1, 2, 2]))

    inputs = keras.Input((4,))
    keras.Model(inputs, Determinant()(inputs)).save(str(tmp_path / "saved_model"),
                                                    save_format="tf")
    path, diff = export_tflite(tmp_path)
    assert path.exists() and math.isnan(diff)
    assert "Flex" in capsys.readouterr().err
