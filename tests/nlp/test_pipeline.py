"""Tokenisation and batching: HF-identical ids, per-batch padding, order and truncation."""
import dataclasses

import numpy as np

from transferkit.common.data.domain import PipelineOptions


def test_ids_match_hf_tokenizer(tiny_bert_dir, tiny_contract, text_domain):
    from transformers import BertTokenizerFast

    texts = ["The movie was GREAT", "I hate the plots and actors", "Zebra quux"]
    hf = BertTokenizerFast.from_pretrained(str(tiny_bert_dir))
    ds = text_domain.make_dataset(texts, None, tiny_contract, PipelineOptions(batch_size=8))
    batch = next(iter(ds))
    for row, text in enumerate(texts):
        expected = hf(text)["input_ids"]
        got = batch["input_word_ids"][row].numpy()
        assert list(got[: len(expected)]) == expected
        assert batch["input_mask"][row].numpy().sum() == len(expected)


def test_padding_is_per_batch_and_order_kept(tiny_contract, text_domain):
    texts = ["good"] * 3 + ["the movie was really very good and fun"] * 1
    ds = text_domain.make_dataset(texts, np.arange(4), tiny_contract,
                                  PipelineOptions(batch_size=3))
    (first, t1), (second, t2) = list(ds)
    assert first["input_word_ids"].shape == (3, 3)  # [CLS] good [SEP], not max_length
    assert second["input_word_ids"].shape == (1, 10)
    assert list(t1.numpy()) + list(t2.numpy()) == [0, 1, 2, 3]
    assert first["input_word_ids"].dtype.name == "int32"


def test_truncation_to_max_length(tiny_contract, text_domain):
    contract = dataclasses.replace(tiny_contract, max_length=6)
    ds = text_domain.make_dataset(["the " * 50], None, contract, PipelineOptions())
    ids = next(iter(ds))["input_word_ids"].numpy()[0]
    assert len(ids) == 6 and ids[0] == 2 and ids[-1] == 3  # [CLS] ... [SEP]


def test_training_shuffles(tiny_contract, text_domain):
    texts = [f"w{i}" for i in range(60)]
    ds = text_domain.make_dataset(texts, np.arange(60), tiny_contract,
                                  PipelineOptions(batch_size=60, training=True, seed=1))
    order = next(iter(ds))[1].numpy()
    assert sorted(order) == list(range(60)) and list(order) != list(range(60))
