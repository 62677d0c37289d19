"""The domain-plugin interface: what vision, text and speech each contribute.

A domain is data in, model input out. It reads a source into :class:`Examples`, turns
items into a batched ``tf.data`` pipeline of model inputs, and (optionally) wraps a trained
model so the exported SavedModel takes raw input. Everything else — heads, training,
evaluation, export — is shared in ``common``, which never imports a domain package;
domains call :func:`register_domain` when imported.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from transferkit.common.data.labels import MULTILABEL_SEPARATOR
from transferkit.common.plugins import UnknownName, entry_points, load_plugins


@dataclass(frozen=True)
class Examples:
    """Raw, unencoded examples read from a source.

    Attributes:
        items: Image/audio file paths, or text strings.
        labels: One per item: a class name (multiclass), a list of names (multilabel),
            a float (regression), or None when unlabelled.
        groups: Optional group per item (e.g. speaker/voice) for group-aware splits.
        skipped: ``(item, reason)`` pairs the reader rejected, reported, never silent.
    """

    items: tuple
    labels: tuple
    groups: tuple | None = None
    skipped: tuple = ()

    def __len__(self) -> int:
        return len(self.items)

    def subset(self, index: Sequence[int]) -> "Examples":
        idx = list(index)
        return Examples(
            items=tuple(self.items[i] for i in idx),
            labels=tuple(self.labels[i] for i in idx),
            groups=None if self.groups is None else tuple(self.groups[i] for i in idx),
            skipped=self.skipped)


@dataclass(frozen=True)
class ReadOptions:
    """How to read a source. Columns apply to CSV/TSV/JSONL.

    ``labels_required`` off (``predict --data``) lets a source have no labels.
    ``allow_outside_paths`` lets a CSV list files outside its own folder.
    """

    path_column: str = "path"
    text_column: str = "text"
    label_column: str = "label"
    encoding: str = "utf-8"
    label_separator: str = MULTILABEL_SEPARATOR  # multilabel: "a|b" split on this
    task: str = "multiclass"
    labels_required: bool = True
    allow_outside_paths: bool = False


@dataclass(frozen=True)
class PipelineOptions:
    """How to batch a split. ``training`` turns on shuffling and augmentation."""

    batch_size: int = 32
    training: bool = False
    augment: bool = False
    seed: int = 0


@dataclass(frozen=True)
class Domain:
    """The functions one domain contributes.

    Attributes:
        name: ``"vision"``, ``"text"``, ``"speech"``.
        read_source: ``(path, ReadOptions) -> Examples``.
        make_dataset: ``(items, targets | None, contract, PipelineOptions) -> tf.data.Dataset``
            of batched ``(model_input, target)``, or ``model_input`` when targets is None.
        read_inputs: ``(list of CLI args) -> items`` for ``transferkit predict``.
        serving_model: ``(model, contract) -> tf_keras.Model`` taking raw input (strings
            for text); None when the model input already is the raw input. It may return
            None for a contract whose preprocessing can't run in-graph: the run then exports
            the model itself and prediction preprocesses through ``make_dataset``.
        predict: ``(model, items, contract, batch_size) -> np.ndarray`` when per-item
            prediction needs more than make_dataset + predict (speech frames long clips).
        extraction_order: ``(items, contract) -> permutation`` in which frozen feature
            extraction should visit the items (text: by token length, so each batch pads to
            its own longest text); the features come back in the items' own order.
        check_input: ``(item) -> reason`` (``""`` when usable), never raising, for
            ``transferkit predict``: a bad file gets its own row instead of stopping the call.
        lora_targets: ``(backbone, projection names) -> [(parent layer, attribute)]``: the
            Dense layers ``fine_tune_method="lora"`` adapts (text: attention projections).
        file_items: The items are files the pipeline reads (images, audio): multi-worker
            training then shards the training files across the workers before reading.
    """

    name: str
    read_source: Callable[..., Examples]
    make_dataset: Callable[..., Any]
    read_inputs: Callable[[list[str]], Sequence] = list
    serving_model: Callable[..., Any] | None = None
    predict: Callable[..., np.ndarray] | None = None
    extraction_order: Callable[..., np.ndarray] | None = None
    check_input: Callable[[Any], str] | None = None
    lora_targets: Callable[..., list] | None = None
    file_items: bool = False


_DOMAINS: dict[str, Domain] = {}


def register_domain(domain: Domain) -> Domain:
    _DOMAINS[domain.name] = domain
    return domain


def get_domain(name: str) -> Domain:
    if name not in _DOMAINS:
        load_plugins(name) if entry_points(name) else load_plugins()
    if name not in _DOMAINS:
        raise UnknownName(f"unknown domain {name!r}; known: {', '.join(sorted(_DOMAINS))}.")
    return _DOMAINS[name]
