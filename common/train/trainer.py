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

from transferkit.common.train import distribute, phases
from transferkit.common.train.fine_tune import fine_tune, with_backbone_rate
from transferkit.common.train.features import quiet_own_retracing_notices
from transferkit.common.train.run_guard import hold_run_dir, start_run, write_manifest
from transferkit.common.config import RunConfig, save_config
from transferkit.common.model.contracts import contract_to_dict
from transferkit.common.data.read import load_splits
from transferkit.common.data.domain import get_domain
from transferkit.common.output import predictions
from transferkit.common.output.evaluate import at_thresholds, evaluate_predictions, headline
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
              verbose: int | None = None, resume: bool = False,
              overwrite: bool = False) -> RunResult:
    """Train, evaluate and export one run into ``out_dir``: prepare -> phase 1 -> phase 2
    -> evaluate (+ calibrate) -> export -> write metrics and the report.
    Args:
        config: The run's configuration; saved as ``config.json``.
        out_dir: Run directory; created if needed.
        splits: Pre-split examples; else read and split from ``config.data``.
        backbone: A :class:`~transferkit.common.model.registry.Backbone` (from ``create_backbone``
            or ``as_backbone(model, contract)``); else built from ``config.backbone``.
        verbose: Keras verbosity; default 1 on a terminal, 2 otherwise.
        resume: Continue an interrupted run in ``out_dir`` from its checkpoints.
        overwrite: Replace a finished run in ``out_dir`` (else that is an error).
    Returns:
        :class:`RunResult` with the metrics that were written to ``metrics.json``.
    Raises:
        FileExistsError: ``out_dir`` holds a finished run and neither flag is set.
        RunDirBusyError: another process trains into ``out_dir`` (named by its pid).
    """
    strategy = distribute.make_strategy(config.train.strategy, config.train.tpu_address)
    write_to = distribute.write_dir(out_dir, strategy)  # a non-chief worker: a temp folder
    try:
        with hold_run_dir(write_to), strategy.scope():
            if resume:
                distribute.seed_resume(write_to, out_dir, strategy)
            start_run(write_to, overwrite=overwrite, resume=resume)
            result = _train(config, write_to, splits, backbone, verbose, resume, strategy)
            write_manifest(result.run_dir)  # last: from now on the run loads
    finally:
        distribute.release_write_dir(write_to, out_dir, strategy)
    return dataclasses.replace(result, run_dir=Path(out_dir))


def _train(config: RunConfig, out_dir, splits, backbone, verbose, resume,
           strategy=None) -> RunResult:
    started, timing = time.perf_counter(), {}
    ctx = prepare(config, out_dir, splits=splits, backbone=backbone, verbose=verbose,
                  resume=resume, strategy=strategy)
    head = build_head(ctx.backbone.output_shape, ctx.config.head, ctx.codec.num_outputs)
    features = _features(ctx, timing)
    with _timed(timing, "phase1_s"):
        from transferkit.common.train.lr_find import resolve_auto

        ctx, lr_found = resolve_auto(ctx, features)  # --learning-rate auto: the finder first
        head_fit = phases.train_head(ctx, head, features)
    timing["phase1_s"] = round(timing["phase1_s"] + timing.pop("features_s"), 2)  # cache + head
    model, frozen_features = join(ctx.backbone.model, head), features
    if ctx.config.train.fine_tune_epochs > 0:
        with _timed(timing, "phase2_s"):
            fine_tune(ctx, model)
        features = None  # the backbone changed: cached features are stale
    outputs, targets = split_outputs(ctx, model, head, features)
    calibration = _keep_outputs(ctx, outputs, targets, frozen_features)
    metrics = {**evaluate_run(ctx, outputs, targets, calibration), "head": head_fit, **lr_found,
               "calibration": calibration,
               "distribute": distribute.record(ctx.strategy, config, ctx.config)}
    if ctx.codec.task == "multiclass":
        metrics["class_balance"] = _balance(ctx.codec, ctx.splits, ctx.config.train.class_weight)
    with _timed(timing, "export_s"):
        metrics["exported"] = _export(ctx, model, metrics["calibration"].get("temperature"))
    timing["total_s"] = round(time.perf_counter() - started, 2)
    metrics["timing"] = timing
    write_metrics(ctx, metrics)
    _write_report(ctx.run_dir)
    return RunResult(run_dir=ctx.run_dir, metrics=metrics, labels=ctx.codec.names, model=model)


def _features(ctx, timing: dict) -> dict | None:
    """The embedding cache (None when phase 1 runs on the pipelines), after contrastive
    tuning of the encoder when asked; then the data checks on it."""
    if ctx.config.train.fine_tune_method == "contrastive":  # tunes the encoder first
        from transferkit.common.train.contrastive import contrastive_tune

        with _timed(timing, "contrastive_s"):
            contrastive_tune(ctx)
    with _timed(timing, "features_s"):
        features = phases.cached_features(ctx) if ctx.uses_cache() else None
    if ctx.config.train.data_checks:
        from transferkit.common.inspect.checks import write_data_checks

        with _timed(timing, "data_checks_s"):  # data_checks.json; logs, never fails the run
            write_data_checks(ctx, features)
    return features


def _keep_outputs(ctx, outputs: dict, targets: dict, features: dict | None) -> dict:
    """``predictions.npz`` and ``calibration.json`` for the report and the export."""
    calibration = predictions.calibrate(ctx.codec, outputs, targets)
    predictions.write_calibration(ctx.run_dir, calibration)
    items = {split: getattr(ctx.splits, split).items for split in outputs}
    predictions.save_predictions(ctx.run_dir, outputs, targets, items,
                                 predictions.map_sample(features, targets, ctx.config.train.seed))
    if "temperature" in calibration:
        _log(f"calibration: temperature {calibration['temperature']:.3f} fitted on validation; "
             f"ECE {calibration['ece_before']:.4f} -> {calibration['ece_after']:.4f}")
    return calibration


def _write_report(run_dir: Path) -> None:
    """``report.html``; a failure here is logged, never fatal: the model and metrics are
    already written, and ``transferkit report RUN`` retries it."""
    from transferkit.common.output.report import write_report

    try:
        _log(f"report: {write_report(run_dir)}")
    except Exception as exc:  # noqa: BLE001
        _log(f"report.html not written ({type(exc).__name__}: {exc}); "
             f"run `transferkit report {run_dir}` to retry")


def prepare(config: RunConfig, out_dir, *, splits=None, backbone=None, verbose=None,
            resume=False, strategy=None) -> "phases.PhaseContext":
    """Seed, read and split the data, fit the labels, build the backbone, write the run's
    config, labels and contract: everything the phases read. Under a ``strategy``, call it
    inside ``strategy.scope()`` (the backbone's variables are made here)."""
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
    config = with_backbone_rate(config, backbone)  # fine-tune LR 0: the backbone's
    _write_run_files(run_dir, config, codec, backbone.contract)
    _write_skipped(run_dir, splits)
    _log(f"{config.domain}: {len(splits.train)} train / {len(splits.validation)} validation / "
         f"{len(splits.test) if splits.test else 0} test examples, {codec.num_outputs} outputs")
    return phases.PhaseContext(
        config=distribute.scaled_config(config, _log), run_dir=run_dir, domain=domain,
        codec=codec, splits=splits,
        backbone=backbone, resume=resume, strategy=strategy,
        verbose=verbose if verbose is not None else (1 if sys.stderr.isatty() else 2))


@contextmanager
def _timed(timing: dict, key: str):
    t0 = time.perf_counter()
    yield
    timing[key] = round(time.perf_counter() - t0, 2)


def _export(ctx: "phases.PhaseContext", model, temperature: float | None) -> dict:
    serving = ctx.domain.serving_model(model, ctx.contract) if ctx.domain.serving_model else None
    return export_model(model, ctx.run_dir, serving, temperature=temperature)


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


def split_outputs(ctx: "phases.PhaseContext", model, head, features) -> tuple[dict, dict]:
    """Model outputs and encoded targets of every labelled split: from cached ``features``
    through the head while they are still valid, else through the whole model."""
    outputs, targets = {}, {}
    for split in ("validation", "test"):
        examples = getattr(ctx.splits, split)
        if examples is None or len(examples) == 0:
            continue
        targets[split] = ctx.codec.encode(examples.labels)
        if features is not None and split in features:
            outputs[split] = head.predict(features[split], batch_size=1024, verbose=0)
        else:
            outputs[split] = model.predict(ctx.inputs(examples.items), verbose=0)
        outputs[split] = np.asarray(outputs[split])
    return outputs, targets


def evaluate_run(ctx: "phases.PhaseContext", outputs: dict, targets: dict,
                 calibration: dict | None = None) -> dict:
    """Metrics of every labelled split from its outputs (multi-label: also at the per-label
    thresholds chosen on validation, under ``"at_tuned_thresholds"``)."""
    out = {"task": ctx.codec.task, "backbone": ctx.config.backbone.name,
           "weights": str(ctx.config.backbone.weights)}
    thresholds = (calibration or {}).get("thresholds")
    for split, values in outputs.items():
        out[split] = evaluate_predictions(ctx.codec, targets[split], values)
        if thresholds:
            out[split]["at_tuned_thresholds"] = at_thresholds(ctx.codec, targets[split], values,
                                                              thresholds)
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
