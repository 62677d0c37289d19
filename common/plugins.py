"""One plugin path: the built-in domains and third-party packages are found the same way.

Every plugin is an entry point in the group ``transferkit.plugins`` (or, for backbone-only
packages, the older ``transferkit.backbones``): a module that registers backbones, named
weights, datasets, recipes or a domain when imported, or a callable that does so when called.
transferkit's own ``vision``, ``text``, ``speech`` and ``recipes`` are entry points in its
``pyproject.toml`` like any other package's, so ``common`` never names them.

A domain package calls :func:`import_submodules` on itself, so a new built-in backbone is one
new file in it and nothing else.

Example (a plugin's ``pyproject.toml``)::

    [project.entry-points."transferkit.plugins"]
    mybackbones = "my_package.backbones"
"""
from __future__ import annotations

import importlib
import pkgutil
import sys
from importlib import metadata

PLUGIN_GROUP = "transferkit.plugins"
ENTRY_POINT_GROUP = "transferkit.backbones"  # older name, still read
GROUPS = (PLUGIN_GROUP, ENTRY_POINT_GROUP)

_loaded: set[str] = set()
_failed: dict[str, str] = {}


class PluginError(RuntimeError):
    """No plugin is installed at all: a broken installation."""


class UnknownName(KeyError):
    """A backbone, dataset, recipe or domain that no loaded plugin registered."""

    def __init__(self, message: str):
        super().__init__(message + failure_note())

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable.
        return str(self.args[0])


def failure_note() -> str:
    """Why some plugins did not load (their names and errors), or "" when all did."""
    if not _failed:
        return ""
    lines = "; ".join(f"plugin {name!r}: {error}" for name, error in sorted(_failed.items()))
    return (f" Not loaded: {lines}. Install the missing extra: pip install 'transferkit[all]' "
            f"(or [vision], [nlp], [speech]).")


def entry_points(name: str | None = None) -> list:
    """The plugin entry points (those called ``name`` only, when given)."""
    found = [ep for group in GROUPS for ep in metadata.entry_points(group=group)]
    return [ep for ep in found if name is None or ep.name == name]


def load_plugins(name: str | None = None, force: bool = False) -> list[str]:
    """Import (or call) the plugins not loaded yet; returns the names loaded now.

    A plugin that fails to import is reported once on stderr and skipped: a broken plugin,
    or a domain whose extra is not installed, must not break the rest.
    """
    points = entry_points(name)
    if not points and name is None and not entry_points():
        raise PluginError("no transferkit plugins are installed, not even the built-in "
                          "domains: reinstall transferkit (pip install -e . or make setup)")
    loaded = []
    for ep in points:
        key = f"{ep.group}:{ep.name}={ep.value}"
        if key in _loaded and not force:
            continue
        _loaded.add(key)
        if _load_one(ep, force):
            loaded.append(ep.name)
    return loaded


def _load_one(ep, force: bool) -> bool:
    try:
        obj = ep.load()
        if callable(obj) and not isinstance(obj, type(sys)):
            obj()
        return True
    except KeyError as exc:  # a register() run a second time meets its own names
        if not force:
            print(f"[transferkit] plugin {ep.name!r} ({ep.value}): {exc}", file=sys.stderr)
        return force
    except ImportError as exc:
        _failed[ep.name] = f"{exc}"
        print(f"[transferkit] plugin {ep.name!r} unavailable: {exc} (pip install "
              f"'transferkit[all]' for the built-in domains)", file=sys.stderr)
    except Exception as exc:  # noqa: BLE001 - a broken plugin must not break the toolkit
        _failed[ep.name] = f"{type(exc).__name__}: {exc}"
        print(f"[transferkit] plugin {ep.name!r} ({ep.value}) failed to load: "
              f"{type(exc).__name__}: {exc}", file=sys.stderr)
    return False


class Catalog:
    """Named entries of one kind that plugins register (datasets, recipes, named weights).

    Reading it loads the plugins first, so an entry of any installed package is there.

    Example:
        >>> RECIPES = Catalog("recipe")
        >>> RECIPES.add("my-recipe", run)  # doctest: +SKIP
        >>> RECIPES.get("my-recipe")  # doctest: +SKIP
    """

    def __init__(self, kind: str):
        self.kind, self.entries = kind, {}

    def add(self, name: str, entry):
        """Register ``entry`` as ``name``; a taken name is a KeyError."""
        if name in self.entries:
            raise KeyError(f"{self.kind} {name!r} already registered")
        self.entries[name] = entry
        return entry

    def all(self) -> dict:
        load_plugins()
        return dict(sorted(self.entries.items()))

    def get(self, name: str):
        known = self.all()
        if name not in known:
            raise UnknownName(f"unknown {self.kind} {name!r}; known: "
                              f"{', '.join(known) or 'none'}.")
        return known[name]


def import_submodules(package: str) -> list[str]:
    """Import every module of ``package`` (its registrations run); returns their names.

    Example:
        >>> import_submodules("transferkit.vision")  # doctest: +SKIP
    """
    root = importlib.import_module(package)
    names = []
    for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
        importlib.import_module(info.name)
        names.append(info.name)
    return names
