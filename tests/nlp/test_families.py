"""DistilBERT and RoBERTa families on tiny random checkpoints written by the test."""
import json

import numpy as np
import pytest

from transferkit.common.model.contracts import TextContract
from transferkit.common.data.domain import PipelineOptions
from transferkit.common.model.registry import create_backbone
from tests.fresh_process import predict_in_fresh_process

TEXTS = ["the movie was good", "i hate this plot", "fun"]


def test_distilbert_mean_pooling_and_blocks(tmp_path, tiny_bert_dir, text_domain):
    import shutil

    from transformers import DistilBertConfig, TFDistilBertModel

    from transferkit.common.model.freezing import count_trainable, freeze, unfreeze

    config = DistilBertConfig(vocab_size=99, dim=32, n_layers=2, n_heads=2, hidden_dim=37,
                              max_position_embeddings=64)
    model = TFDistilBertModel(config)
    model(model.dummy_inputs)
    model.save_pretrained(str(tmp_path))
    shutil.copy(tiny_bert_dir / "vocab.txt", tmp_path)
    backbone = create_backbone("hf_encoder", weights=str(tmp_path), tokenizer=str(tmp_path))
    ds = text_domain.make_dataset(TEXTS, None, TextContract(str(tmp_path)), PipelineOptions())
    assert backbone.model.predict(ds, verbose=0).shape == (3, 32)
    freeze(backbone)
    assert len(unfreeze(backbone, top=1)) == 1 and count_trainable(backbone) > 0
    with pytest.raises(ValueError, match="no pooler"):
        create_backbone("hf_encoder", weights=str(tmp_path), tokenizer=str(tmp_path),
                        pooling="pooler")


def _write_tiny_roberta(folder):
    from transformers import RobertaConfig, RobertaTokenizer, TFRobertaModel

    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    tokens = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"] + letters + ["\u0120" + c for c in letters]
    folder.mkdir()
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    RobertaTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt")).save_pretrained(
        str(folder))
    config = RobertaConfig(vocab_size=len(tokens), hidden_size=32, num_hidden_layers=2,
                           num_attention_heads=2, intermediate_size=37, type_vocab_size=1,
                           max_position_embeddings=80, pad_token_id=1)
    model = TFRobertaModel(config)
    model(model.dummy_inputs)
    model.save_pretrained(str(folder))


def test_roberta_bpe_tokenizer_trains_through_python(tmp_path, text_domain):
    folder = tmp_path / "roberta"
    _write_tiny_roberta(folder)
    contract = TextContract(tokenizer=str(folder), max_length=24)
    backbone = create_backbone("hf_encoder", weights=str(folder), tokenizer=str(folder),
                               max_length=24)
    ds = text_domain.make_dataset(TEXTS, np.array([1, 0, 1]), contract,
                                  PipelineOptions(batch_size=2, training=True))
    inputs, _ = next(iter(ds))
    assert inputs["input_word_ids"].shape[1] <= 24
    assert backbone.model(inputs).shape == (inputs["input_word_ids"].shape[0], 32)
    assert text_domain.serving_model(backbone, contract) is None  # BPE can't run in-graph


def test_roberta_run_exports_and_predicts_raw_strings(tmp_path, text_domain):
    # A whole run: the SavedModel takes encoder inputs; load() tokenises in Python.
    import transferkit
    from transferkit.common.config import (BackboneConfig, DataConfig, HeadConfig, RunConfig,
                                           TrainConfig)
    from transferkit.common.train.trainer import train_run
    from tests.nlp.conftest import sentiment_texts

    folder = tmp_path / "roberta"
    _write_tiny_roberta(folder)
    texts, labels = sentiment_texts(120, seed=5)
    data = tmp_path / "data.csv"
    data.write_text("text,label\n" + "".join(f"{t},{lab}\n" for t, lab in zip(texts, labels)))
    config = RunConfig(
        domain="text",
        backbone=BackboneConfig("hf_encoder", str(folder),
                                {"tokenizer": str(folder), "max_length": 24}),
        head=HeadConfig(dropout=0.0), train=TrainConfig(epochs=3, early_stopping_patience=0),
        data=DataConfig(train=str(data), validation_split=0.2, test_split=0.2))
    result = train_run(config, tmp_path / "run", verbose=0)
    assert (result.run_dir / "saved_model").is_dir()
    run = transferkit.load(result.run_dir)
    assert not run.predictor.takes_strings
    predicted = run.classify(["the movie was good", "i hate this plot"])
    assert len(predicted) == 2
    assert all(label in {"pos", "neg"} and 0 <= score <= 1 for label, score in predicted)
    encoded = text_domain.make_dataset(texts[:4], None, run.contract, PipelineOptions())
    from transferkit.common.output.calibration import apply_temperature

    want = apply_temperature(result.model.predict(encoded, verbose=0), run.temperature or 1.0)
    np.testing.assert_allclose(run.predict(texts[:4]), want, atol=1e-5)  # calibrated
    (row,) = predict_in_fresh_process(result.run_dir, "the movie was good")
    assert row["label"] == predicted[0][0] and abs(row["score"] - predicted[0][1]) < 1e-4
