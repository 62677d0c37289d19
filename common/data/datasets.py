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

from transferkit.common.plugins import Catalog


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


DATASETS = Catalog("dataset")


def register_dataset(dataset: Dataset) -> Dataset:
    return DATASETS.add(dataset.name, dataset)


def list_datasets() -> dict[str, Dataset]:
    return DATASETS.all()


def get_dataset(name: str) -> Dataset:
    return DATASETS.get(name)
