"""Field checks for the config dataclasses: ranges, choices and the types JSON/YAML give."""
from __future__ import annotations


def one_of(section: str, config, name: str, choices: tuple) -> None:
    if getattr(config, name) not in choices:
        raise ValueError(f"{section}.{name} must be one of {choices}, got {getattr(config, name)!r}")


def at_least(section: str, config, low: int, *names: str) -> None:
    for name in names:
        if getattr(config, name) < low:
            raise ValueError(f"{section}.{name} must be at least {low}, "
                             f"got {getattr(config, name)}")


def check_type(where: str, value, kind) -> None:
    """A config value of the field's type (JSON/YAML give any type; the dataclasses trust)."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = {str: isinstance(value, str), bool: isinstance(value, bool),
          float: number and not abs(value) > 1.7e308,  # 10**400 overflows a float later
          int: number and isinstance(value, int),
          dict: isinstance(value, dict) and all(isinstance(k, str) for k in value)}
    if kind in ok:
        good, wanted = ok[kind], kind.__name__
    elif kind == (str | None):
        good, wanted = value is None or isinstance(value, str), "a string or null"
    else:  # tuple[int, ...]: the head's units
        good = isinstance(value, (list, tuple)) and all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
        wanted = "a list of positive integers"
    if not good:
        raise ValueError(f"{where}: expected {wanted}, got {value!r:.80}")
