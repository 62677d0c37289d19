"""``transferkit lr-find``: sweep the learning rate exponentially, plot loss against it and suggest a value."""
from __future__ import annotations

VERB = "lr-find"


def add_parser(sub) -> None:
    sub.add_parser(VERB, help="sweep the learning rate exponentially, plot loss against it and suggest a value (being built)")


def run(args) -> int:
    raise RuntimeError("transferkit lr-find is being built")
