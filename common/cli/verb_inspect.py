"""``transferkit inspect``: audit a dataset on cached features: likely label issues, near-duplicates and leakage, class balance."""
from __future__ import annotations

VERB = "inspect"


def add_parser(sub) -> None:
    sub.add_parser(VERB, help="audit a dataset on cached features: likely label issues, near-duplicates and leakage, class balance (being built)")


def run(args) -> int:
    raise RuntimeError("transferkit inspect is being built")
