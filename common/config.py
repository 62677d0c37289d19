"""Run configuration: frozen dataclasses, saved as ``config.json`` beside every run.

Backbone spec, head options and training hyperparameters are separate dataclasses
(MediaPipe Model Maker's split); overrides go through :func:`dataclasses.replace`. The CLI's
flags are generated from these fields (see :mod:`transferkit.common.cli.options`).
"""
from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transferkit.common.config_checks import (CACHE_MODES, CLASS_WEIGHTS,
                                             FINE_TUNE_METHODS, HEAD_FITS, LORA_TARGETS,
                                             STRATEGIES, UNFREEZE_SCHEDULES)
from transferkit.common.config_checks import at_least as _at_least
from transferkit.common.config_checks import check_train as _check_train
from transferkit.common.config_checks import check_type as _check_type
from transferkit.common.data.labels import MULTILABEL_SEPARATOR

# the choices, for code that imports them from here
CHOICES = (CACHE_MODES, CLASS_WEIGHTS, FINE_TUNE_METHODS, HEAD_FITS, LORA_TARGETS, STRATEGIES,
           UNFREEZE_SCHEDULES)
TASKS = ("multiclass", "multilabel", "regression")


@dataclass(frozen=True)
class BackboneConfig:
    """Which backbone and which weights.

    Attributes:
        name: Registry name, e.g. ``"mobilenet_v2"``.
        weights: ``"default"`` (the backbone's pretrained source), ``None``/``"none"`` for
            random init, a source name or a local path.
        options: Contract overrides and builder options (``{"size": 96}``).
    """

    name: str = "mobilenet_v2"
    weights: str | None = "default"
    options: dict = field(default_factory=dict)

    def __post_init__(self):
        if isinstance(self.weights, str) and self.weights.lower() == "none":
            object.__setattr__(self, "weights", None)  # one spelling of random init


@dataclass(frozen=True)
class HeadConfig:
    """The classification head: a dense stack then the output layer.

    Attributes:
        units: Hidden Dense layer sizes, e.g. ``128`` or ``256,128`` (separated by commas).
        activation: Activation of the hidden layers.
        dropout: Dropout after each hidden layer (and before the output when no hidden).
        task: ``"multiclass"`` (softmax), ``"multilabel"`` (sigmoid) or ``"regression"``.
        standardize: Scale each feature by the training set's mean and variance first
            (a FeatureStandardization layer adapted in phase 1). Backbones whose features are
            tiny or huge, random-init ones among them, need it to train at all.
    """

    units: tuple[int, ...] = ()
    activation: str = "relu"
    dropout: float = 0.2
    task: str = "multiclass"
    standardize: bool = True

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"head.task must be one of {TASKS}, got {self.task!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"head.dropout must be in [0, 1), got {self.dropout}")
        object.__setattr__(self, "units", tuple(int(u) for u in self.units))


@dataclass(frozen=True)
class TrainConfig:
    """Training hyperparameters for the two phases.

    Attributes:
        epochs: Phase 1 epoch cap for heads trained by gradient (hidden layers, or the
            embedding cache off); a linear head on cached features is solved to convergence.
        head_fit: ``"auto"``: on cached features, a linear head is solved exactly (L-BFGS
            logistic / ridge regression) with the L2 strength chosen on validation, and a
            hidden-layer head trains until validation stops improving with dropout chosen on
            validation; ``"epochs"``: a plain ``fit`` for ``epochs`` epochs.
        class_weight: ``"balanced"`` weights classes inversely to their training frequency
            (both phases); empty for none.
        refit: After choosing the head's regularisation on validation, refit it on train +
            validation (``metrics.json`` says so; validation scores are then not held out).
        fine_tune_epochs: Phase 2 epochs (0 = skip fine-tuning).
        batch_size: Batch size for both phases and for feature extraction.
        learning_rate: Head learning rate, or ``"auto"`` (the learning-rate finder's pick).
        fine_tune_learning_rate: Phase 2 head LR; 0 = the backbone's registered one, else 1e-4.
        backbone_lr_multiplier: Backbone LR = head LR × this (discriminative LRs).
        unfreeze_top: Phase 2 unfreezes the top N layers with weights (0 = all) ...
        unfreeze_from: ... or every layer from this named layer up.
        embedding_cache: ``"auto"``, ``"memory"``, ``"disk"`` or ``"off"``. Features are
            computed once while the backbone is frozen and augmentation is off.
        early_stopping_patience: Epochs without val improvement before stopping (0 = off).
        augment: Domain augmentation (image flip/rotate/zoom; audio noise/gain).
        seed: Global seed (Python, NumPy, TF) and split seed.
        tensorboard: Also write TensorBoard logs into the run directory.
        data_checks: Audit the data on the cached features (label issues, near-duplicates,
            balance; within a budget) into ``data_checks.json`` and the report (default on).
        strategy: tf.distribute strategy: ``"auto"`` (mirrored over the GPUs when more than
            one is visible, else default), ``"default"``, ``"mirrored"``, ``"multiworker"``
            (reads ``TF_CONFIG``) or ``"tpu"``.
        tpu_address: TPU resolver address for the tpu strategy (empty: the local TPU VM).
        scale_learning_rate: Linear scaling rule: multiply the learning rates by
            global batch size / 32 (the batch size the defaults were tuned at).
        fine_tune_method: Phase 2 method: ``"full"`` (unfreeze and fine-tune),
            ``"contrastive"`` (text: SetFit-style pair training of the encoder, then the
            head), ``"lora"`` (text: low-rank adapters on the attention projections).
        contrastive_epochs: Contrastive method: passes over the training pairs.
        contrastive_pairs: Contrastive method: at most this many pairs, half same-class
            (SetFit's oversampling, then capped; 0 = every oversampled pair).
        contrastive_learning_rate: Contrastive method: Adam learning rate of the encoder.
        contrastive_batch_size: Contrastive method: pairs per step.
        lora_rank: LoRA method: rank of each adapter (the low-rank update ``B A``).
        lora_alpha: LoRA method: scaling numerator; the update is ``(alpha / rank) · B A``.
        lora_targets: LoRA method: the attention projections to adapt, e.g. ``query,value``.
        unfreeze_schedule: ``"all"`` (unfreeze the chosen layers at once) or ``"gradual"``
            (one block group per epoch from the top, with a warm-up at each step).
        lr_group_decay: Per-group learning rates: the top block group learns at head LR ×
            ``backbone_lr_multiplier`` and each group below at this factor of the one above
            (fastai's ``slice(lo, hi)``; 1 = one backbone LR).
        warmup_epochs: Phase 2 warms each newly trained group's LR up linearly over this
            many epochs (fractions allowed; 0 = no warm-up).
        lr_decay: Phase 2 LR decay over its epochs: ``"cosine"``, ``"linear"`` or
            ``"constant"``.
        weight_decay: Phase 2 decoupled weight decay (AdamW; 0 = plain Adam).
        train_bn: Phase 2 trains BatchNorm layers (their statistics move); default frozen.
        fine_tune_augment: Augment phase 2's training batches even when ``augment`` is off
            (phase 1 keeps its embedding cache).
    """

    epochs: int = 100
    head_fit: str = "auto"
    class_weight: str = ""
    refit: bool = False
    fine_tune_epochs: int = 0
    batch_size: int = 32
    learning_rate: float | str = 1e-3  # a number, or "auto" (common.train.lr_find)
    fine_tune_learning_rate: float = 0.0  # 0: the backbone's registered rate, else 1e-4
    backbone_lr_multiplier: float = 1.0
    unfreeze_top: int = 0
    unfreeze_from: str = ""
    embedding_cache: str = "auto"
    early_stopping_patience: int = 3
    augment: bool = False
    seed: int = 0
    tensorboard: bool = False
    data_checks: bool = True
    # --- 8/10 scale-out fields ---
    strategy: str = "auto"
    tpu_address: str = ""
    scale_learning_rate: bool = False
    # --- end 8/10 fields ---
    # --- 9/10 fine-tune strategy fields ---
    unfreeze_schedule: str = "all"
    lr_group_decay: float = 1.0
    warmup_epochs: float = 0.3
    lr_decay: str = "cosine"
    weight_decay: float = 1e-4
    train_bn: bool = False
    fine_tune_augment: bool = False
    # --- end 9/10 fields ---
    # --- 10/10 / 9/10 method field ---
    fine_tune_method: str = "full"
    contrastive_epochs: int = 1
    contrastive_pairs: int = 2000
    contrastive_learning_rate: float = 2e-5
    contrastive_batch_size: int = 16
    lora_rank: int = 8
    lora_alpha: float = 16.0
    lora_targets: str = "query,value"
    # --- end method field ---

    def __post_init__(self):
        _check_train(self)


@dataclass(frozen=True)
class DataConfig:
    """Where the data is and how to split it.

    Attributes:
        train: Training source (folder of class folders, CSV, JSONL, ...).
        validation: Optional validation source; else split off ``train``.
        test: Optional test source; else split off ``train``.
        validation_split: Fraction of ``train`` for validation when none given.
        test_split: Fraction of ``train`` for test when none given.
        limit: Use at most this many training examples (0 = all), stratified.
        read: Column names, encoding and task for tabular sources.
        allow_outside_paths: Let a CSV of image/audio paths name files outside its own
            folder (absolute paths, ``..``); off, such a path is an error naming the line.
    """

    train: str = ""
    validation: str = ""
    test: str = ""
    validation_split: float = 0.1
    test_split: float = 0.1
    limit: int = 0
    path_column: str = "path"
    text_column: str = "text"
    label_column: str = "label"
    encoding: str = "utf-8"
    label_separator: str = MULTILABEL_SEPARATOR
    allow_outside_paths: bool = False

    def __post_init__(self):
        _at_least("data", self, 0, "limit")
        splits = (self.validation_split, self.test_split)
        if not (all(0 <= f < 1 for f in splits) and sum(splits) < 1):
            raise ValueError(f"data.validation_split and data.test_split must be in [0, 1) "
                             f"and sum below 1, got {splits[0]} and {splits[1]}")


@dataclass(frozen=True)
class RunConfig:
    """Everything needed to reproduce a run; written to ``<run>/config.json``."""

    domain: str = ""
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    head: HeadConfig = field(default_factory=HeadConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    data: DataConfig = field(default_factory=DataConfig)
    recipe: str = ""


_NESTED = {"backbone": BackboneConfig, "head": HeadConfig, "train": TrainConfig, "data": DataConfig}


def to_dict(config: RunConfig) -> dict[str, Any]:
    return dataclasses.asdict(config)


def from_dict(raw: dict[str, Any]) -> RunConfig:
    """Rebuild a RunConfig, rejecting unknown fields with a message naming them."""
    if not isinstance(raw, dict):
        raise ValueError(f"config: expected an object of fields, got {type(raw).__name__}")
    kwargs = {}
    for key, value in raw.items():
        if key in _NESTED:
            cls = _NESTED[key]
            if not isinstance(value, dict):
                raise ValueError(f"config.{key}: expected an object of fields, "
                                 f"got {type(value).__name__}")
            hints = typing.get_type_hints(cls)
            unknown = set(value) - set(hints)
            if unknown:
                raise ValueError(f"config.{key}: unknown field(s) {sorted(unknown, key=str)}")
            for name, item in value.items():
                _check_type(f"config.{key}.{name}", item, hints[name])
            kwargs[key] = cls(**value)
        elif key in {"domain", "recipe"}:
            _check_type(f"config.{key}", value, str)
            kwargs[key] = value
        else:
            raise ValueError(f"config: unknown field {key!r}")
    return RunConfig(**kwargs)


def save_config(config: RunConfig, path: Path) -> None:
    from transferkit.common.io import atomic_write_text

    atomic_write_text(Path(path), json.dumps(to_dict(config), indent=2, sort_keys=True) + "\n")


def load_config(path: Path) -> RunConfig:
    """A run config from ``.json`` (or ``.yaml``/``.yml``); every error is a ValueError
    naming the file.

    Example:
        >>> load_config(Path("runs/flowers/config.json")).backbone.name  # doctest: +SKIP
        'mobilenet_v2'
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
        if str(path).endswith((".yaml", ".yml")):
            import yaml

            raw = yaml.safe_load(text)
            raw = {} if raw is None else raw
        else:
            raw = json.loads(text)
    except Exception as exc:  # noqa: BLE001 - OSError, JSON, yaml.YAMLError, RecursionError
        raise ValueError(f"{path}: cannot read run config ({exc})") from None
    try:
        return from_dict(raw)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
