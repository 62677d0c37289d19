"""``transferkit adapt``: adapt a finished run to an unlabelled target domain (AdaBN) into a new run."""
from __future__ import annotations

VERB = "adapt"


def add_parser(sub) -> None:
    sub.add_parser(VERB, help="adapt a finished run to an unlabelled target domain (AdaBN) into a new run (being built)")


def run(args) -> int:
    raise RuntimeError("transferkit adapt is being built")
