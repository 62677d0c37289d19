"""CLI flags generated from the config dataclasses, so options are never written twice.

Each field of a dataclass becomes ``--field-name``; the help text is the field's line in the
class docstring's ``Attributes:`` section.
"""
from __future__ import annotations

import argparse
import dataclasses
import re
import typing


def _field_docs(cls) -> dict[str, str]:
    doc = cls.__doc__ or ""
    docs, current = {}, None
    for line in doc.split("Attributes:", 1)[-1].splitlines():
        match = re.match(r"\s{8}(\w+): (.*)", line)
        if match:
            current = match.group(1)
            docs[current] = match.group(2).strip()
        elif current and line.strip():
            docs[current] += " " + line.strip()
    # docstring markup reads badly in --help: ``"auto"`` -> auto, "... or" -> "or"
    return {k: re.sub(r"\s*\.\.\.\s*", " ", v.replace('``"', "").replace('"``', "")
                      .replace("``", "")).strip() for k, v in docs.items()}


def _parse_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.replace(" ", "").split(",") if x)


def _parse_bool(text: str) -> bool:
    if text.lower() in {"1", "true", "yes", "on"}:
        return True
    if text.lower() in {"0", "false", "no", "off"}:
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {text!r}")


def _parse_rate(text: str) -> float | str:
    """A learning rate: a number, or ``auto`` (the learning-rate finder)."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or auto, got {text!r}") from None


def add_dataclass_args(parser: argparse.ArgumentParser, cls, group: str,
                       skip: set[str] = frozenset()) -> None:
    """Add one ``--flag`` per field of ``cls`` (defaults stay None = "not given")."""
    docs = _field_docs(cls)
    hints = typing.get_type_hints(cls)
    section = parser.add_argument_group(group)
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        kind = hints[f.name]
        parse = (_parse_bool if kind is bool else _parse_tuple if "tuple" in str(kind)
                 else int if kind is int else float if kind is float
                 else _parse_rate if kind == (float | str) else str)
        shown = (",".join(map(str, default)) or "none") if isinstance(default, tuple) else default
        # a bare boolean flag (``--refit``) means true; ``--refit false`` still works
        flag = dict(nargs="?", const=True) if kind is bool else {}
        section.add_argument(f"--{f.name.replace('_', '-')}", dest=f"{group}__{f.name}",
                             type=parse, default=None, metavar=f.name.upper(),
                             help=f"{docs.get(f.name, '')} (default: {shown})", **flag)


WEIGHTS_HELP = ("pretrained source name (default: the backbone's), 'none' for random init, "
                "or a local path")


def add_backbone_args(parser: argparse.ArgumentParser, weights_help: str = WEIGHTS_HELP,
                      config_help: str = "start from a config.json / .yaml (flags override it)"
                      ) -> None:
    """``--backbone --weights --domain --option --config``: the flags every verb that builds
    a backbone from the config shares (train, inspect, lr-find)."""
    parser.add_argument("--backbone", help="registry name (see `transferkit backbones`)")
    parser.add_argument("--weights", help=weights_help)
    parser.add_argument("--domain", help="vision, text or speech (implied by the backbone)")
    parser.add_argument("--option", action="append", metavar="KEY=VALUE",
                        help="backbone option or contract override, e.g. size=96 (repeatable)")
    parser.add_argument("--config", help=config_help)


def overrides_from_args(args: argparse.Namespace, group: str) -> dict:
    prefix = f"{group}__"
    return {k[len(prefix):]: v for k, v in vars(args).items()
            if k.startswith(prefix) and v is not None}


def parse_key_values(pairs: list[str] | None) -> dict:
    """``["size=96", "pooling=max"]`` -> ``{"size": 96, "pooling": "max"}``."""
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise argparse.ArgumentTypeError(f"--option expects KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        out[key.strip()] = _coerce(value.strip())
    return out


def _coerce(value: str):
    for parse in (int, float):
        try:
            return parse(value)
        except ValueError:
            pass
    return {"true": True, "false": False, "none": None}.get(value.lower(), value)
