"""``fine_tune_method="contrastive"`` (SetFit's method) on a tiny random BERT: the pair
sampler, the pair loss falling, a whole run that trains and exports with parity, resume."""
import json
import shutil

import numpy as np
import pytest

from transferkit.common.config import (BackboneConfig, DataConfig, HeadConfig, RunConfig,
                                       TrainConfig)
from transferkit.common.train.pairs import contrastive_pairs
from tests.nlp.conftest import sentiment_texts, write_text_csv


def test_pairs_are_balanced_labelled_and_cover_every_negative():
    labels = np.repeat([0, 1, 2], 8)  # 8 per class: 108 positive, 192 negative combinations
    pairs = contrastive_pairs(labels, seed=3)
    assert len(pairs) == 2 * 192 and pairs.targets.mean() == 0.5
    np.testing.assert_array_equal(pairs.targets, labels[pairs.left] == labels[pairs.right])
    assert np.all(pairs.left <= pairs.right)
    unique = {(a, b) for a, b in zip(pairs.left, pairs.right)}
    assert len(unique) == 108 + 192  # oversampling repeats positives, drops nothing
    np.testing.assert_array_equal(pairs.targets[:6], [1, 0, 1, 0, 1, 0])


def test_pairs_are_seeded_and_capped_balanced():
    labels = np.repeat([0, 1], 10)
    a, b = contrastive_pairs(labels, seed=1), contrastive_pairs(labels, seed=1)
    np.testing.assert_array_equal(a.left, b.left)
    np.testing.assert_array_equal(a.right, b.right)
    assert not np.array_equal(a.left, contrastive_pairs(labels, seed=2).left)
    capped = contrastive_pairs(labels, seed=1, max_pairs=40)
    assert len(capped) == 40 and capped.targets.mean() == 0.5


def test_multilabel_pairs_share_any_label_and_one_class_is_an_error():
    multi = np.array([[1, 0], [1, 1], [0, 1], [0, 1]], np.float32)
    pairs = contrastive_pairs(multi, seed=0)
    shared = np.any((multi[pairs.left] > 0) & (multi[pairs.right] > 0), axis=1)
    np.testing.assert_array_equal(pairs.targets, shared)
    with pytest.raises(ValueError, match="two different labels"):
        contrastive_pairs(np.zeros(5, int), seed=0)


def test_contrastive_step_reduces_the_pair_loss(tiny_bert_dir, tiny_contract, text_domain):
    from transferkit.common.model.registry import create_backbone
    from transferkit.common.train.contrastive import pair_dataset, pair_loss, train_pairs

    backbone = create_backbone("hf_encoder", weights=str(tiny_bert_dir),
                               tokenizer=str(tiny_bert_dir), max_length=32)
    texts, labels = sentiment_texts(48, seed=5)
    pairs = contrastive_pairs(np.array([t == "pos" for t in labels]), seed=0, max_pairs=160)
    data = pair_dataset(text_domain, tiny_contract, texts, pairs, 16)
    sums = [float(np.sum(w)) for w in backbone.model.get_weights()[:8]]
    before = pair_loss(backbone.model, data)
    epochs = [pair_dataset(text_domain, tiny_contract, texts, pairs.shuffled(e), 16)
              for e in range(2)]
    losses = train_pairs(backbone.model, epochs, steps_per_epoch=10, learning_rate=1e-3)
    after = pair_loss(backbone.model, data)
    print(f"\npair loss {before:.4f} -> {after:.4f}; epochs {np.round(losses, 4)}")
    assert after < 0.8 * before and losses[-1] < losses[0]
    # the embedding cache's weights key (phases.cached_features) sees the tuning
    assert [float(np.sum(w)) for w in backbone.model.get_weights()[:8]] != sums


@pytest.fixture(scope="module")
def contrastive_run(tmp_path_factory, tiny_bert_dir):
    from transferkit.common.train.trainer import train_run

    root = tmp_path_factory.mktemp("contrastive")
    write_text_csv(root / "train.csv", *sentiment_texts(120, seed=2))
    options = {"tokenizer": str(tiny_bert_dir), "max_length": 32}
    config = RunConfig(domain="text",
                       backbone=BackboneConfig("hf_encoder", str(tiny_bert_dir), options),
                       head=HeadConfig(dropout=0.0),
                       train=TrainConfig(fine_tune_method="contrastive", contrastive_epochs=1,
                                         contrastive_learning_rate=1e-3, contrastive_pairs=320,
                                         embedding_cache="disk"),
                       data=DataConfig(train=str(root / "train.csv"), validation_split=0.2,
                                       test_split=0.25))
    return config, train_run(config, root / "run", verbose=0)


def test_contrastive_run_trains_and_exports_with_parity(contrastive_run):
    from transferkit.common.output.export_run import export_run

    _, result = contrastive_run
    state = json.loads((result.run_dir / "checkpoints" / "state.json").read_text())
    tuned = state["contrastive"]
    assert tuned["done"] and tuned["pairs"] == 320 and tuned["steps"] == 20
    assert tuned["pair_loss_after"] < tuned["pair_loss_before"]
    assert result.metrics["test"]["accuracy"] > 0.6  # 2 balanced classes: chance is 0.5
    assert "contrastive_s" in result.metrics["timing"]
    export = export_run(result.run_dir, "savedmodel")  # raw strings in, tuned encoder inside
    print("\ncontrastive savedmodel: " + export.parity.line())
    assert export.parity.passed


def test_resume_loads_the_tuned_encoder_and_does_not_tune_again(contrastive_run, tmp_path,
                                                                monkeypatch, capfd):
    from transferkit.common.train import contrastive
    from transferkit.common.train.trainer import train_run

    config, result = contrastive_run
    copy = tmp_path / "run"
    shutil.copytree(result.run_dir, copy)

    def no_second_tuning(*args, **kwargs):
        raise AssertionError("a resumed run tuned the encoder again")

    monkeypatch.setattr(contrastive, "train_pairs", no_second_tuning)
    again = train_run(config, copy, verbose=0, resume=True)
    assert "contrastive tuning already done" in capfd.readouterr().err
    assert again.metrics["test"]["accuracy"] == result.metrics["test"]["accuracy"]
    for want, got in zip(result.model.get_weights(), again.model.get_weights()):
        np.testing.assert_allclose(got, want, atol=1e-6)


@pytest.mark.parametrize("field, value", [("contrastive_learning_rate", 0.0),
                                          ("contrastive_learning_rate", float("nan")),
                                          ("contrastive_pairs", -1), ("contrastive_epochs", 0),
                                          ("contrastive_batch_size", 0)])
def test_contrastive_fields_are_validated(field, value):
    with pytest.raises(ValueError, match=f"train.{field}"):
        TrainConfig(**{field: value})
