"""Built-in and plugin datasets behind ``transferkit data NAME``; they register like backbones.

A :class:`Dataset` adds its own command-line options and writes its files; ``common`` knows
none of them by name. ``transferkit data`` lists what is registered.

Example:
    >>> register_dataset(Dataset("my-data", "vision", "my images as class folders",
    ...                          add_arguments=lambda p: p.add_argument("--out"),
    ...                          write=lambda args: f"written to {args.out}"))  # doctest: +SKIP
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from transferkit.common.plugins import UnknownName, load_plugins


@dataclass(frozen=True)
class Dataset:
    """One dataset maker.

    Attributes:
        name: ``transferkit data NAME``.
        domain: The domain whose trainer reads what it writes.
        summary: One line for the listing.
        add_arguments: ``(argparse.ArgumentParser) -> None``: its options (``--out`` first).
        write: ``(argparse.Namespace) -> str``: makes the data, returns what to print.
        description: Longer help text.
    """

    name: str
    domain: str
    summary: str
    add_arguments: Callable
    write: Callable
    description: str = ""


_DATASETS: dict[str, Dataset] = {}


def register_dataset(dataset: Dataset) -> Dataset:
    if dataset.name in _DATASETS:
        raise KeyError(f"dataset {dataset.name!r} already registered")
    _DATASETS[dataset.name] = dataset
    return dataset


def list_datasets() -> dict[str, Dataset]:
    load_plugins()
    return dict(sorted(_DATASETS.items()))


def get_dataset(name: str) -> Dataset:
    known = list_datasets()
    if name not in known:
        raise UnknownName(f"unknown dataset {name!r}; known: {', '.join(known) or 'none'}.")
    return known[name]
