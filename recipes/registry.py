"""Named recipes, runnable as ``transferkit recipe NAME``.

A recipe is a plain function ``run(out, *, quick=False, **options) -> dict`` that fetches or
makes its data, trains, evaluates and returns (and prints) its figures.

Example:
    >>> @register_recipe("my-recipe", domain="vision", summary="...")
    ... def run(out, *, quick=False):
    ...     ...
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

_RECIPE_MODULES = ("transferkit.recipes.vision_recipes", "transferkit.recipes.own_model_recipe",
                   "transferkit.recipes.text_recipes",
                   "transferkit.recipes.speech_recipes")


@dataclass(frozen=True)
class Recipe:
    name: str
    domain: str
    summary: str
    run: Callable[..., dict]


_RECIPES: dict[str, Recipe] = {}


def register_recipe(name: str, *, domain: str, summary: str):
    def decorate(fn):
        if name in _RECIPES:
            raise KeyError(f"recipe {name!r} already registered")
        _RECIPES[name] = Recipe(name, domain, summary, fn)
        return fn

    return decorate


def _load_all() -> None:
    for module in _RECIPE_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:  # a real missing dependency, not a missing recipe file
                raise


def list_recipes() -> dict[str, Recipe]:
    _load_all()
    return dict(sorted(_RECIPES.items()))


def get_recipe(name: str) -> Recipe:
    recipes = list_recipes()
    if name not in recipes:
        raise KeyError(f"unknown recipe {name!r}; known: {', '.join(recipes)}")
    return recipes[name]
