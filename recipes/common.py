"""Helpers shared by recipes: built-in data, weight fallbacks and side-by-side baselines."""
from __future__ import annotations

import sys
from pathlib import Path

from transferkit.common.data.assets import cache_dir
from transferkit.common.data.domain import Examples
from transferkit.common.model.weights import WeightsUnavailableError


def say(msg: str) -> None:
    print(f"[recipe] {msg}", file=sys.stderr, flush=True)


def fashion_mnist_examples(per_class: int, split: str = "train",
                           classes: tuple[str, ...] | None = None) -> Examples:
    """Fashion-MNIST class folders from the Debian package, optionally a class subset."""
    from transferkit.vision.data import read_image_source
    from transferkit.vision.fashion_mnist import write_class_folders

    root = write_class_folders(cache_dir() / "data" / f"fashion-mnist-{per_class}", split,
                               per_class=per_class)
    examples = read_image_source(root)
    if classes:
        keep = [i for i, lab in enumerate(examples.labels) if lab in classes]
        examples = examples.subset(keep)
    return examples


def train_auto(config, out, **kwargs):
    """``train_run``; ``weights="auto"``: the pretrained default when it can be had, else
    random init, loudly (the fallback is recorded: ``metrics.json`` says which weights ran).

    The check is the run's own backbone build, so no backbone is built twice.
    """
    from transferkit.common.train.trainer import train_run

    if config.backbone.weights != "auto":
        return train_run(config, out, **kwargs)
    try:
        return train_run(_with_weights(config, "default"), out, **kwargs)
    except WeightsUnavailableError as exc:
        say(f"pretrained weights for {config.backbone.name} unavailable, using random init:"
            f"\n{exc}")
        return train_run(_with_weights(config, None), out, **kwargs)


def _with_weights(config, weights):
    import dataclasses

    return dataclasses.replace(config, backbone=dataclasses.replace(config.backbone,
                                                                    weights=weights))


def report(result, extra: dict | None = None) -> dict:
    """The figures a recipe returns: test metrics headline and the run directory."""
    test = result.metrics.get("test", {})
    out = {"run_dir": str(result.run_dir), "weights": result.metrics.get("weights")}
    for key in ("accuracy", "macro_f1", "majority_baseline", "n"):
        if key in test:
            out[f"test_{key}"] = test[key]
    out.update(extra or {})
    return out


def out_path(out) -> Path:
    path = Path(out)
    path.mkdir(parents=True, exist_ok=True)
    return path
