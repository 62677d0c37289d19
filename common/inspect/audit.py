"""``transferkit inspect`` end to end: read and split as training does, cache the features,
run the checks, write ``inspect.json`` and ``inspect.html``.

Example:
    >>> checks = inspect_data(config, Path("inspect/flowers"))  # doctest: +SKIP
    >>> checks["label_issues"]["flagged"]  # doctest: +SKIP
    14
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from transferkit.common.config import RunConfig
from transferkit.common.inspect.checks import run_checks
from transferkit.common.inspect.duplicates import THRESHOLD
from transferkit.common.io import MANIFEST, atomic_write_text


def inspect_data(config: RunConfig, out: Path, *, threshold: float = THRESHOLD) -> dict:
    """The checks of ``config``'s data on its backbone's features; files written in ``out``.

    The features are cached on disk in ``out/features`` (keyed by backbone, weights and
    items), so a second inspection of the same data costs only the checks.

    Raises:
        FileExistsError: ``out`` holds a training run (its config would be overwritten).
    """
    from transferkit.common.output.report.data_checks import write_checks_page
    from transferkit.common.train import phases
    from transferkit.common.train.trainer import prepare

    out = Path(out)
    if (out / MANIFEST).is_file():
        raise FileExistsError(f"{out} holds a training run ({MANIFEST}); give inspect another "
                              f"--out")
    config = dataclasses.replace(config, train=dataclasses.replace(
        config.train, embedding_cache="disk", augment=False))
    ctx = prepare(config, out, verbose=0)
    _remove_empty(out / "checkpoints")  # prepare makes it for training; inspect has none
    features = phases.cached_features(ctx)
    checks = {"data": config.data.train, "domain": ctx.config.domain,
              "backbone": config.backbone.name, "weights": str(config.backbone.weights),
              **run_checks(features, ctx.splits, ctx.codec, seed=config.train.seed,
                           threshold=threshold)}
    atomic_write_text(out / "inspect.json", json.dumps(checks, indent=1) + "\n")
    write_checks_page(checks, out / "inspect.html", root=out)
    return checks


def _remove_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:  # not empty or not there
        pass
