"""End to end on a tiny random BERT: read CSV, train both phases, export, reload, predict."""

import numpy as np
import pytest

from transferkit.common.config import (BackboneConfig, DataConfig, HeadConfig, RunConfig,
                                       TrainConfig)
from transferkit.common.data.domain import PipelineOptions
from transferkit.common.testing import (assert_beats_baseline, mean_predictor_mse,
                                        predict_all_micro_f1)
from tests.nlp.conftest import sentiment_texts, write_text_csv


def _config(tiny_bert_dir, data, task="multiclass", **train):
    options = {"tokenizer": str(tiny_bert_dir), "max_length": 32}
    defaults = dict(epochs=20, fine_tune_epochs=6, unfreeze_top=0, batch_size=32,
                    learning_rate=1e-2, fine_tune_learning_rate=3e-3,
                    backbone_lr_multiplier=1.0, early_stopping_patience=0)
    return RunConfig(domain="text",
                     backbone=BackboneConfig("hf_encoder", str(tiny_bert_dir), options),
                     head=HeadConfig(task=task, dropout=0.0),
                     train=TrainConfig(**{**defaults, **train}),
                     data=DataConfig(train=str(data), validation_split=0.15, test_split=0.2,
                                     label_separator="|"))


@pytest.fixture(scope="module")
def sentiment_run(tmp_path_factory, tiny_bert_dir):
    from transferkit.common.train.trainer import train_run

    root = tmp_path_factory.mktemp("run")
    data = write_text_csv(root / "train.csv", *sentiment_texts(400))
    return train_run(_config(tiny_bert_dir, data), root / "run", verbose=0)


def test_learns_above_chance(sentiment_run):
    test = sentiment_run.metrics["test"]
    assert test["n"] == 80
    # two balanced classes: the majority class (and a coin) scores about 0.5 on the 80
    assert_beats_baseline(test["accuracy"], test["majority_baseline"], 0.3, n=test["n"],
                          chance=max(0.5, test["majority_baseline"]), what="accuracy")


def test_reloaded_run_predicts_raw_strings(sentiment_run, tiny_contract, text_domain):
    from transferkit.common.output.rundir import load

    texts = ["The movie was great and fun", "I hate this boring plot", "worst film"]
    run = load(sentiment_run.run_dir)
    served = run.predict(texts)
    ds = text_domain.make_dataset(texts, None, tiny_contract, PipelineOptions())
    np.testing.assert_allclose(served, sentiment_run.model.predict(ds, verbose=0), atol=1e-5)
    assert [label for label, _ in run.classify(texts)][:2] == ["pos", "neg"]
    assert (sentiment_run.run_dir / "saved_model" / "assets" / "vocab.txt").is_file()


def _splits(config):
    """The run's own seeded split (what ``train_run`` would make), so baselines use it."""
    from transferkit.common.data.read import load_splits
    from transferkit.common.data.domain import get_domain

    return load_splits(config, get_domain("text"))


def test_multilabel_and_regression_heads(tmp_path, tiny_bert_dir):
    from transferkit.common.train.trainer import train_run

    texts, labels = sentiment_texts(400, seed=1)
    tags = [f"{lab}|long" if len(t.split()) > 6 else lab for t, lab in zip(texts, labels)]
    data = write_text_csv(tmp_path / "ml.csv", texts, tags)
    config = _config(tiny_bert_dir, data, "multilabel", fine_tune_epochs=4)
    splits = _splits(config)
    multi = train_run(config, tmp_path / "ml", splits=splits, verbose=0)
    assert multi.labels == ("long", "neg", "pos")
    test = multi.metrics["test"]
    assert test["n"] == len(splits.test) == 80
    # predicting every label for every text: recall 1, precision the label density
    all_labels = predict_all_micro_f1([set(tags) for tags in splits.test.labels], multi.labels)
    # about half the texts are long: 0.659 here, so the old 0.6 bar was below it.
    # Measured: micro-F1 0.99.
    assert 0.6 < all_labels < 0.75
    assert_beats_baseline(test["micro_f1"], all_labels, 0.2, what="micro-F1")
    values = [1.0 if lab == "pos" else -1.0 for lab in labels]
    data = write_text_csv(tmp_path / "reg.csv", texts, values)
    # The library's default backbone LR (0.1x the head's): at 1.0x, fine-tuning this tiny
    # random BERT on standardised features swung test R2 between -1.0 and 0.46 by seed.
    config = _config(tiny_bert_dir, data, "regression", fine_tune_epochs=4,
                     backbone_lr_multiplier=0.1, seed=0)
    splits = _splits(config)
    reg = train_run(config, tmp_path / "reg", splits=splits, verbose=0)
    test = reg.metrics["test"]
    assert test["n"] == len(splits.test) == 80
    # predict-the-train-mean: MSE about 1 on targets of +-1; the model must cut it by 20%
    # (measured: MSE 0.44 against the mean predictor's 1.00, R2 0.56; seeds 1 and 2 gave
    # 0.58x and 0.53x the mean predictor's MSE)
    mean_mse = mean_predictor_mse([float(v) for v in splits.train.labels],
                                  [float(v) for v in splits.test.labels])
    assert test["mse"] <= 0.8 * mean_mse, (test, mean_mse)
