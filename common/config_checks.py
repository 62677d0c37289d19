"""Field checks for the config dataclasses: ranges, choices and the types JSON/YAML give."""
from __future__ import annotations

import math

CACHE_MODES = ("auto", "memory", "disk", "off")
HEAD_FITS = ("auto", "epochs")
CLASS_WEIGHTS = ("", "balanced")
STRATEGIES = ("auto", "default", "mirrored", "multiworker", "tpu")
FINE_TUNE_METHODS = ("full", "contrastive", "lora")
UNFREEZE_SCHEDULES = ("all", "gradual")
LORA_TARGETS = ("query,value", "query,key,value", "query", "key", "value", "query,key",
                "key,value")


def one_of(section: str, config, name: str, choices: tuple) -> None:
    if getattr(config, name) not in choices:
        raise ValueError(f"{section}.{name} must be one of {choices}, "
                         f"got {getattr(config, name)!r}")


def at_least(section: str, config, low: int, *names: str) -> None:
    for name in names:
        if getattr(config, name) < low:
            raise ValueError(f"{section}.{name} must be at least {low}, "
                             f"got {getattr(config, name)}")


def check_auto_rate(train) -> None:
    """``train.learning_rate`` given as text: only ``"auto"``, and not with the linear
    scaling rule (the finder already measures at the run's own batch size)."""
    if train.learning_rate != "auto":
        raise ValueError(f"train.learning_rate must be a positive number or 'auto', "
                         f"got {train.learning_rate!r}")
    if train.scale_learning_rate:
        raise ValueError("train.learning_rate auto finds the rate at the run's own batch "
                         "size: drop scale_learning_rate or give the learning rate as a number")


def check_type(where: str, value, kind) -> None:
    """A config value of the field's type (JSON/YAML give any type; the dataclasses trust)."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = {str: isinstance(value, str), bool: isinstance(value, bool),
          float: number and not abs(value) > 1.7e308,  # 10**400 overflows a float later
          int: number and isinstance(value, int),
          dict: isinstance(value, dict) and all(isinstance(k, str) for k in value)}
    if kind in ok:
        good, wanted = ok[kind], kind.__name__
    elif kind == (str | None):
        good, wanted = value is None or isinstance(value, str), "a string or null"
    elif kind == (float | str):  # train.learning_rate: a number or "auto"
        good, wanted = ok[float] or value == "auto", 'a number or "auto"'
    else:  # tuple[int, ...]: the head's units
        good = isinstance(value, (list, tuple)) and all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
        wanted = "a list of positive integers"
    if not good:
        raise ValueError(f"{where}: expected {wanted}, got {value!r:.80}")


def check_train(t) -> None:
    """Every field check of a ``TrainConfig`` (its ``__post_init__``). A typo ("disc")
    would otherwise silently train with the in-memory cache."""
    if t.embedding_cache not in CACHE_MODES:
        raise ValueError(f"train.embedding_cache must be one of {CACHE_MODES}, "
                         f"got {t.embedding_cache!r}")
    if t.head_fit not in HEAD_FITS:
        raise ValueError(f"train.head_fit must be one of {HEAD_FITS}, got {t.head_fit!r}")
    if t.class_weight not in CLASS_WEIGHTS:
        raise ValueError(f"train.class_weight must be 'balanced' or empty, "
                         f"got {t.class_weight!r}")
    one_of("train", t, "strategy", STRATEGIES)
    one_of("train", t, "fine_tune_method", FINE_TUNE_METHODS)
    one_of("train", t, "unfreeze_schedule", UNFREEZE_SCHEDULES)
    one_of("train", t, "lr_decay", ("cosine", "linear", "constant"))
    for name in ("lr_group_decay", "warmup_epochs", "weight_decay"):
        value, positive = getattr(t, name), name == "lr_group_decay"
        if not (value < math.inf and (value > 0 if positive else value >= 0)):  # nan: no
            kind = "positive" if positive else "non-negative"
            raise ValueError(f"train.{name} must be a {kind} finite number, got {value}")
    at_least("train", t, 1, "lora_rank")
    one_of("train", t, "lora_targets", LORA_TARGETS)
    if not 0 < t.lora_alpha < math.inf:  # nan fails too
        raise ValueError(f"train.lora_alpha must be positive and finite, got {t.lora_alpha}")
    at_least("train", t, 1, "contrastive_epochs", "contrastive_batch_size")
    at_least("train", t, 0, "contrastive_pairs")
    if not 0 < t.contrastive_learning_rate < math.inf:  # nan fails too
        raise ValueError(f"train.contrastive_learning_rate must be a positive finite "
                         f"number, got {t.contrastive_learning_rate}")
    at_least("train", t, 1, "batch_size")
    at_least("train", t, 0, "epochs", "fine_tune_epochs", "unfreeze_top",
              "early_stopping_patience")
    for name in ("learning_rate", "fine_tune_learning_rate", "backbone_lr_multiplier"):
        value, positive = getattr(t, name), name == "learning_rate"  # others: 0 allowed
        if name == "learning_rate" and isinstance(value, str):
            check_auto_rate(t)
            continue
        if not (value < math.inf and (value > 0 if positive else value >= 0)):  # nan: no
            kind = "positive" if positive else "non-negative"
            raise ValueError(f"train.{name} must be a {kind} finite number, got {value}")
