"""Read a run's data from its :class:`DataConfig` through the domain, then split it."""
from __future__ import annotations

import sys

from transferkit.common.config import RunConfig
from transferkit.common.data.domain import Domain, Examples, ReadOptions
from transferkit.common.data.splits import Splits, limit_examples, split_examples


def read_options(config: RunConfig) -> ReadOptions:
    d = config.data
    return ReadOptions(path_column=d.path_column, text_column=d.text_column,
                       label_column=d.label_column, encoding=d.encoding,
                       label_separator=d.label_separator, task=config.head.task)


def read(domain: Domain, source: str, options: ReadOptions, what: str) -> Examples:
    if not source:
        raise ValueError(f"data.{what}: no data source given (use --data PATH)")
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
    test = read(domain, d.test, options, "test") if d.test else None
    if d.validation:
        validation = read(domain, d.validation, options, "validation")
        if test is None and d.test_split > 0:  # no test source: split it off train
            split = split_examples(train, validation=0.0, test=d.test_split, seed=seed)
            train, test = split.train, split.test
        split = Splits(train=train, validation=validation)
    else:
        split = split_examples(train, validation=d.validation_split,
                               test=0.0 if test is not None else d.test_split, seed=seed)
    return Splits(train=split.train, validation=split.validation,
                  test=test if test is not None else split.test)
