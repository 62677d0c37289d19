"""Named recipes, runnable as ``transferkit recipe NAME``; plugins register them.

A recipe is a plain function ``run(out, *, quick=False, **options) -> dict`` that fetches or
makes its data, trains, evaluates and returns (and prints) its figures. transferkit's own are
in the ``transferkit.recipes`` package, found through its entry point like any plugin's.

Example:
    >>> @register_recipe("my-recipe", domain="vision", summary="...")
    ... def run(out, *, quick=False):
    ...     ...
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from transferkit.common.plugins import Catalog


@dataclass(frozen=True)
class Recipe:
    name: str
    domain: str
    summary: str
    run: Callable[..., dict]


RECIPES = Catalog("recipe")


def register_recipe(name: str, *, domain: str, summary: str):
    """Decorator: register ``fn`` as recipe ``name``.

    Raises:
        KeyError: if ``name`` is taken.
    """
    def decorate(fn):
        RECIPES.add(name, Recipe(name, domain, summary, fn))
        return fn

    return decorate


def list_recipes() -> dict[str, Recipe]:
    return RECIPES.all()


def get_recipe(name: str) -> Recipe:
    return RECIPES.get(name)
