"""Read a run's data from its :class:`DataConfig` through the domain, then split it.

Training reads need labels (unlabelled rows are skipped and listed, never a class "None");
``predict`` reads may be unlabelled. Labels of a validation/test source that training never
saw are an error naming the source. Items of a validation/test source that are also in the
training data (the same file or text) are dropped from it and listed in ``skipped.txt``:
they would inflate the held-out scores.
"""
from __future__ import annotations

import dataclasses
import sys

from transferkit.common.config import RunConfig
from transferkit.common.data.domain import Domain, Examples, ReadOptions
from transferkit.common.data.splits import Splits, limit_examples, split_examples


def read_options(config: RunConfig) -> ReadOptions:
    d = config.data
    return ReadOptions(path_column=d.path_column, text_column=d.text_column,
                       label_column=d.label_column, encoding=d.encoding,
                       label_separator=d.label_separator, task=config.head.task,
                       allow_outside_paths=d.allow_outside_paths)


def read(domain: Domain, source: str, options: ReadOptions, what: str) -> Examples:
    if not source:
        raise ValueError(f"data.{what}: no data source given (use --data PATH)")
    options = dataclasses.replace(options, labels_required=what != "predict")
    examples = domain.read_source(source, options)
    for item, reason in examples.skipped[:20]:
        print(f"[transferkit] skipped {item}: {reason}", file=sys.stderr)
    if len(examples.skipped) > 20:
        print(f"[transferkit] ... and {len(examples.skipped) - 20} more skipped", file=sys.stderr)
    if len(examples) == 0:
        raise ValueError(f"data.{what}: {source} holds no usable examples")
    return examples


def load_splits(config: RunConfig, domain: Domain) -> Splits:
    """Train/validation/test from explicit sources, or split seeded from ``data.train``."""
    d, seed = config.data, config.train.seed
    options = read_options(config)
    train = limit_examples(read(domain, d.train, options, "train"), d.limit, seed)
    task = config.head.task
    classes = {str(lab) for lab in train.labels}
    if task == "multiclass" and len(classes) < 2:
        raise ValueError(f"data.train: {d.train} has {len(classes)} class(es) "
                         f"{sorted(classes)}; need at least 2 (check --label-column)")
    test = _held_out(read(domain, d.test, options, "test"), train, d.test, "test",
                     task) if d.test else None
    if d.validation:
        validation = _held_out(read(domain, d.validation, options, "validation"), train,
                               d.validation, "validation", task)
        if test is None and d.test_split > 0:  # no test source: split it off train
            split = split_examples(train, validation=0.0, test=d.test_split, seed=seed)
            train, test = split.train, split.test
        split = Splits(train=train, validation=validation)
    else:
        split = split_examples(train, validation=d.validation_split,
                               test=0.0 if test is not None else d.test_split, seed=seed)
    return Splits(train=split.train, validation=split.validation,
                  test=test if test is not None else split.test)


def _held_out(examples: Examples, train: Examples, source: str, what: str,
              task: str) -> Examples:
    """``examples`` less the items also in ``train`` (listed as skipped); an error naming
    ``source`` for a label training never saw."""
    if task != "regression":
        known = {n for lab in train.labels for n in _names(lab)}
        unseen = sorted({n for lab in examples.labels for n in _names(lab)} - known)
        if unseen:
            raise ValueError(f"data.{what}: {source} has label(s) {unseen[:10]} that the "
                             f"training data does not have; known: {sorted(known)[:20]}")
    seen = set(train.items)
    dup = {i for i, item in enumerate(examples.items) if item in seen}
    if not dup:
        return examples
    if len(dup) == len(examples):
        raise ValueError(f"data.{what}: every item of {source} is also in the training data")
    print(f"[transferkit] data.{what}: {len(dup)} item(s) of {source} are also in the training "
          f"data; left out of {what} (listed in skipped.txt)", file=sys.stderr)
    keep = examples.subset([i for i in range(len(examples)) if i not in dup])
    extra = tuple((f"{source}: {str(examples.items[i])[:80]!r}",
                   f"{what} item also in the training data") for i in sorted(dup))
    return dataclasses.replace(keep, skipped=keep.skipped + extra)


def _names(label) -> list[str]:
    return [str(x) for x in label] if isinstance(label, (list, tuple)) else [str(label)]
