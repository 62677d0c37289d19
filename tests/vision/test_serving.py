"""The vision serving SavedModel: encoded bytes and any-size float images in, with the
temperature applied, agreeing with the Keras model on the pipeline's decoded pixels."""
import numpy as np
import pytest

from tests.common.conftest import write_png

SIZE = 24
T = 2.0


@pytest.fixture(scope="module")
def model_and_saved(tmp_path_factory):
    """A random CNN (unit scaling inside) and its serving SavedModel with T = 2."""
    from transferkit.common.keras import keras
    from transferkit.common.model.contracts import ImageContract
    from transferkit.common.output.export import save_serving, serving_models
    from transferkit.vision.preprocessing import ImageScaling, image_input
    from transferkit.vision.serving import serving_model

    contract = ImageContract(size=SIZE, scaling="unit")
    inputs = image_input(contract)
    x = ImageScaling("unit")(inputs)
    x = keras.layers.Conv2D(4, 3, strides=2, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))
    path = tmp_path_factory.mktemp("vision_serving") / "saved_model"
    save_serving(serving_models(model, serving_model(model, contract), T), path)
    return model, contract, path


@pytest.fixture(scope="module")
def image_files(tmp_path_factory):
    """PNGs and JPEGs of other sizes than the contract's, one grayscale."""
    from PIL import Image

    root = tmp_path_factory.mktemp("vision_images")
    rng = np.random.default_rng(0)
    files = [write_png(root / f"rgb_{i}.png", rng.integers(0, 255, (30 + i, 40, 3), np.uint8))
             for i in range(3)]
    files.append(write_png(root / "grey.png", rng.integers(0, 255, (20, 20), np.uint8)))
    Image.fromarray(rng.integers(0, 255, (50, 36, 3), np.uint8)).save(root / "photo.jpg")
    return files + [str(root / "photo.jpg")]


def _want(model, contract, files):
    from transferkit.common.data.domain import PipelineOptions
    from transferkit.common.output.calibration import apply_temperature
    from transferkit.vision.data import make_image_dataset

    ds = make_image_dataset(files, None, contract, PipelineOptions(batch_size=8))
    return apply_temperature(model.predict(ds, verbose=0), T)


def test_bytes_signature_decodes_like_the_pipeline(model_and_saved, image_files):
    from transferkit.common.keras import tf

    model, contract, path = model_and_saved
    fn = tf.saved_model.load(str(path)).signatures["serving_default"]
    raw = tf.constant([open(f, "rb").read() for f in image_files])
    got = fn(image_bytes=raw)["output_0"].numpy()
    np.testing.assert_allclose(got, _want(model, contract, image_files), atol=1e-5)


def test_float_signature_takes_any_size(model_and_saved):
    from transferkit.common.keras import tf
    from transferkit.common.output.calibration import apply_temperature

    model, contract, path = model_and_saved
    fn = tf.saved_model.load(str(path)).signatures["serving_images"]
    images = np.random.default_rng(1).uniform(0, 255, (2, 40, 31, 3)).astype(np.float32)
    resized = tf.image.resize(images, (SIZE, SIZE), antialias=True).numpy()
    want = apply_temperature(model.predict(resized, verbose=0), T)
    np.testing.assert_allclose(fn(images=tf.constant(images))["output_0"].numpy(), want,
                               atol=1e-5)


def test_predict_images_sends_bytes_to_the_savedmodel(model_and_saved, image_files):
    from transferkit.common.data.domain import get_domain
    from transferkit.common.output.rundir import SavedModelPredictor, predict_items

    model, contract, path = model_and_saved
    predictor = SavedModelPredictor(path)
    assert predictor.takes_strings
    got = predict_items(get_domain("vision"), predictor, image_files, contract, batch_size=2)
    np.testing.assert_allclose(got, _want(model, contract, image_files), atol=1e-5)
    pixels = np.zeros((1, SIZE, SIZE, 3), np.float32)  # a float batch: serving_images
    assert predictor.predict(pixels).shape == (1, 3)
