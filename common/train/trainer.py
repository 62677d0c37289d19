"""The two-phase trainer: frozen-feature head training, then optional fine-tuning.

Data flows one way: source -> preprocessing (domain) -> backbone -> head -> trainer ->
export. Phase 1 trains the head on a frozen backbone, through the embedding cache when
augmentation is off. Phase 2 unfreezes the top of the backbone and fine-tunes with a lower,
discriminative learning rate, BatchNorm kept in inference mode.

Example:
    >>> result = train_run(RunConfig(domain="vision", data=DataConfig(train="flowers/")),
    ...                    "runs/flowers")  # doctest: +SKIP
    >>> result.metrics["test"]["accuracy"]  # doctest: +SKIP
"""
from __future__ import annotations

import dataclasses
import json
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from transferkit.common.train import phases
from transferkit.common.train.features import quiet_own_retracing_notices
from transferkit.common.config import RunConfig, save_config
from transferkit.common.model.contracts import contract_to_dict
from transferkit.common.data.read import load_splits
from transferkit.common.data.domain import get_domain
from transferkit.common.output.evaluate import evaluate_predictions, headline
from transferkit.common.output.export import export_model
from transferkit.common.model.heads import build_head, join
from transferkit.common.io import atomic_write_text
from transferkit.common.data.labels import LabelCodec
from transferkit.common.model.registry import (Backbone, as_backbone, create_backbone,
                                               get_backbone_spec)
from transferkit.common.seed import set_global_seed
from transferkit.common.data.splits import Splits


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    metrics: dict
    labels: tuple
    model: object = None


def _log(msg: str) -> None:
    print(f"[transferkit] {msg}", file=sys.stderr, flush=True)


def _resolve_domain(config: RunConfig, backbone) -> str:
    if config.domain:
        return config.domain
    if backbone is None:
        return get_backbone_spec(config.backbone.name).domain
    if isinstance(backbone, Backbone) and backbone.spec is not None:
        return backbone.spec.domain
    raise ValueError("config.domain is required with a custom backbone model")


def _write_run_files(run_dir: Path, config: RunConfig, codec: LabelCodec, contract) -> None:
    save_config(config, run_dir / "config.json")
    atomic_write_text(run_dir / "labels.txt", "\n".join(codec.names) + "\n")
    atomic_write_text(run_dir / "contract.json", json.dumps(
        {"contract": contract_to_dict(contract), "task": codec.task,
         "separator": codec.separator}, indent=2))


def _write_skipped(run_dir: Path, splits: Splits) -> None:
    """``skipped.txt``: every input the readers rejected, with the reason (none: no file)."""
    rows = {f"{item}\t{reason}" for part in (splits.train, splits.validation, splits.test)
            if part is not None for item, reason in part.skipped}
    if rows:
        atomic_write_text(run_dir / "skipped.txt", "\n".join(sorted(rows)) + "\n")


def train_run(config: RunConfig, out_dir, *, splits: Splits | None = None, backbone=None,
              verbose: int | None = None, resume: bool = False) -> RunResult:
    """Train, evaluate and export one run into ``out_dir`` (the run directory).

    It reads as its steps: prepare -> phase 1 -> phase 2 -> evaluate -> write.

    Args:
        config: The run's configuration; saved as ``config.json``.
        out_dir: Run directory; created if needed.
        splits: Pre-split examples; else read and split from ``config.data``.
        backbone: A :class:`~transferkit.common.model.registry.Backbone` (from ``create_backbone``
            or ``as_backbone(model, contract)``); else built from ``config.backbone``.
        verbose: Keras verbosity; default 1 on a terminal, 2 otherwise.
        resume: Continue an interrupted run in ``out_dir`` from its checkpoints.

    Returns:
        :class:`RunResult` with the metrics that were written to ``metrics.json``.
    """
    started, timing = time.perf_counter(), {}
    ctx = prepare(config, out_dir, splits=splits, backbone=backbone, verbose=verbose,
                  resume=resume)
    head = build_head(ctx.backbone.output_shape, ctx.config.head, ctx.codec.num_outputs)
    with _timed(timing, "phase1_s"):
        features = phases.cached_features(ctx) if ctx.uses_cache() else None
        head_fit = phases.train_head(ctx, head, features)
    model = join(ctx.backbone.model, head)
    if ctx.config.train.fine_tune_epochs > 0:
        with _timed(timing, "phase2_s"):
            phases.fine_tune(ctx, model)
        features = None  # the backbone changed: cached features are stale
    metrics = {**evaluate_run(ctx, model, head, features), "head": head_fit}
    if ctx.codec.task == "multiclass":
        metrics["class_balance"] = _balance(ctx.codec, ctx.splits, ctx.config.train.class_weight)
    with _timed(timing, "export_s"):
        metrics["exported"] = _export(ctx, model)
    timing["total_s"] = round(time.perf_counter() - started, 2)
    metrics["timing"] = timing
    write_metrics(ctx, metrics)
    return RunResult(run_dir=ctx.run_dir, metrics=metrics, labels=ctx.codec.names, model=model)


def prepare(config: RunConfig, out_dir, *, splits=None, backbone=None, verbose=None,
            resume=False) -> "phases.PhaseContext":
    """Seed, read and split the data, fit the labels, build the backbone, write the run's
    config, labels and contract: everything the phases read."""
    set_global_seed(config.train.seed)
    quiet_own_retracing_notices()  # the head fitters' per-candidate predict functions
    run_dir = Path(out_dir)
    (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    config = dataclasses.replace(config, domain=_resolve_domain(config, backbone))
    domain = get_domain(config.domain)
    splits = splits if splits is not None else load_splits(config, domain)
    codec = LabelCodec.fit(splits.train.labels, config.head.task, config.data.label_separator)
    backbone = as_backbone(backbone) if backbone is not None else create_backbone(
        config.backbone.name, weights=config.backbone.weights, **config.backbone.options)
    _write_run_files(run_dir, config, codec, backbone.contract)
    _write_skipped(run_dir, splits)
    _log(f"{config.domain}: {len(splits.train)} train / {len(splits.validation)} validation / "
         f"{len(splits.test) if splits.test else 0} test examples, {codec.num_outputs} outputs")
    return phases.PhaseContext(
        config=config, run_dir=run_dir, domain=domain, codec=codec, splits=splits,
        backbone=backbone, resume=resume,
        verbose=verbose if verbose is not None else (1 if sys.stderr.isatty() else 2))


@contextmanager
def _timed(timing: dict, key: str):
    t0 = time.perf_counter()
    yield
    timing[key] = round(time.perf_counter() - t0, 2)


def _export(ctx: "phases.PhaseContext", model) -> dict:
    serving = ctx.domain.serving_model(model, ctx.contract) if ctx.domain.serving_model else None
    return export_model(model, ctx.run_dir, serving)


def write_metrics(ctx: "phases.PhaseContext", metrics: dict) -> None:
    """``metrics.json`` and ``MODEL_CARD.md``; the headline figures to the log."""
    atomic_write_text(ctx.run_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    _write_model_card(ctx.run_dir, ctx.config, metrics)
    for split in ("validation", "test"):
        if split in metrics:
            _log(f"{split}: {headline(metrics[split])}")


def _balance(codec: LabelCodec, splits: Splits, class_weight: str) -> dict:
    from transferkit.common.data.balance import class_balance

    balance = class_balance(codec.names, codec.encode(splits.train.labels))
    if balance["skewed"] and not class_weight:
        _log(f"the training classes are skewed (largest/smallest = "
             f"{balance['imbalance_ratio']:g}); --class-weight balanced may help macro-F1")
    return balance


def evaluate_run(ctx: "phases.PhaseContext", model, head, features) -> dict:
    """Metrics of every labelled split: from cached ``features`` through the head when they
    are still valid, else through the whole model."""
    out = {"task": ctx.codec.task, "backbone": ctx.config.backbone.name,
           "weights": str(ctx.config.backbone.weights)}
    for split in ("validation", "test"):
        examples = getattr(ctx.splits, split)
        if examples is None or len(examples) == 0:
            continue
        targets = ctx.codec.encode(examples.labels)
        if features is not None and split in features:
            outputs = head.predict(features[split], batch_size=1024, verbose=0)
        else:
            outputs = model.predict(ctx.inputs(examples.items), verbose=0)
        out[split] = evaluate_predictions(ctx.codec, targets, np.asarray(outputs))
    return out


def _write_model_card(run_dir: Path, config: RunConfig, metrics: dict) -> None:
    try:
        spec = get_backbone_spec(config.backbone.name)
        licence, about = spec.licence or "see the backbone's source", spec.description
    except KeyError:
        licence, about = "user-supplied model", "custom backbone"
    lines = [f"# Model card: {run_dir.name}", "",
             f"- Backbone: `{config.backbone.name}` ({about})",
             f"- Weights: `{config.backbone.weights}`; licence: {licence}",
             f"- Task: {config.head.task}; head units {list(config.head.units)}",
             f"- Data: `{config.data.train}`"]
    for split in ("validation", "test"):
        if split in metrics:
            lines.append(f"- {split}: {headline(metrics[split])}")
    atomic_write_text(run_dir / "MODEL_CARD.md", "\n".join(lines) + "\n")
