"""``export_run`` on a tiny random BERT run: raw-string SavedModel, .keras and TFLite on ids."""

import numpy as np
import pytest

from transferkit.common.config import (BackboneConfig, DataConfig, HeadConfig, RunConfig,
                                       TrainConfig)
from tests.nlp.conftest import sentiment_texts, write_text_csv
from tests.run_helpers import set_temperature

T = 2.0


@pytest.fixture(scope="module")
def text_run(tmp_path_factory, tiny_bert_dir):
    """Phase 1 only (the head on frozen features), then T = 2 in calibration.json."""
    from transferkit.common.train.trainer import train_run

    root = tmp_path_factory.mktemp("text_export")
    write_text_csv(root / "train.csv", *sentiment_texts(160))
    options = {"tokenizer": str(tiny_bert_dir), "max_length": 32}
    config = RunConfig(domain="text",
                       backbone=BackboneConfig("hf_encoder", str(tiny_bert_dir), options),
                       head=HeadConfig(dropout=0.0),
                       train=TrainConfig(epochs=5, fine_tune_epochs=0, batch_size=32,
                                         early_stopping_patience=0),
                       data=DataConfig(train=str(root / "train.csv"), validation_split=0.2,
                                       test_split=0.2))
    return set_temperature(train_run(config, root / "run", verbose=0).run_dir, T)


@pytest.fixture(scope="module")
def texts_and_want(text_run, text_domain):
    from transferkit.common.data.domain import PipelineOptions
    from transferkit.common.output.calibration import apply_temperature
    from transferkit.common.output.rundir import load

    texts = ["The movie was great and fun", "I hate this boring plot", "worst film", "a"]
    run = load(text_run)
    ds = text_domain.make_dataset(texts, None, run.contract, PipelineOptions())
    return texts, ds, apply_temperature(run.keras_model().predict(ds, verbose=0), T)


def test_savedmodel_takes_raw_strings_and_applies_the_temperature(text_run, texts_and_want):
    from transferkit.common.keras import tf
    from transferkit.common.output.export_run import export_run

    result = export_run(text_run, "savedmodel")
    print("\ntext savedmodel: " + result.parity.line())
    assert result.parity.passed and result.parity.examples == 32
    texts, _, want = texts_and_want
    fn = tf.saved_model.load(str(result.out_dir / "saved_model")).signatures["serving_default"]
    got = fn(text=tf.constant(texts))["output_0"].numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert (result.out_dir / "saved_model" / "assets" / "vocab.txt").is_file()
    assert {"labels.txt", "MODEL_CARD.md", "parity.json"} <= set(result.files)


def test_keras_file_takes_token_ids(text_run, texts_and_want):
    from transferkit.common.keras import keras
    from transferkit.common.output.export_run import export_run

    result = export_run(text_run, "keras")
    print("\ntext keras: " + result.parity.line())
    assert result.parity.passed
    _, ds, want = texts_and_want
    model = keras.models.load_model(str(result.out_dir / "model.keras"), compile=False)
    np.testing.assert_allclose(model.predict(ds, verbose=0), want, atol=1e-5)


def test_tflite_takes_token_ids_with_the_vocab_beside_it(text_run, texts_and_want):
    from transferkit.common.output.export_run import export_run
    from transferkit.common.output.tflite import TFLitePredictor

    result = export_run(text_run, "tflite")
    print("\ntext tflite: " + result.parity.line())
    (note,) = result.notes
    assert "WordpieceTokenizeWithOffsets" in note and "input_word_ids" in note, note
    assert "vocab.txt copied beside it" in note
    assert (result.out_dir / "vocab.txt").read_text() == \
        (text_run / "saved_model" / "assets" / "vocab.txt").read_text()
    assert result.parity.passed and result.parity.interpreter.startswith("ai_edge_litert")
    _, ds, want = texts_and_want
    lite = TFLitePredictor((result.out_dir / "model.tflite").read_bytes())
    assert set(lite.input_specs) == {"input_word_ids", "input_mask", "input_type_ids"}
    np.testing.assert_allclose(lite.predict(ds), want, atol=1e-4)
