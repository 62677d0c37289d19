"""``transferkit adapt RUN --target DIR --out NEW_RUN``: unsupervised domain adaptation.

AdaBN (:mod:`~transferkit.common.train.adabn`) re-estimates the BatchNorm statistics on the
unlabelled target inputs; a backbone without BatchNorm (text encoders) gets CORAL
(:mod:`~transferkit.common.train.coral`), folded into the head. Target labels are never
read for adaptation: ``--eval-data`` (labelled target data) only measures before/after.

NEW_RUN is a complete run: RUN's config, labels, contract and calibration, the adapted model
exported by the trainer's export code, ``adaptation.json`` (what changed, by how much, the
figures before/after), a report, and ``run.json`` last.

Example:
    $ transferkit adapt runs/fmnist --target shifted/train --eval-data shifted/test \\
          --out runs/fmnist-adabn
"""
from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

VERB = "adapt"
METHODS = ("auto", "adabn", "coral")
REFERENCES = ("auto", "source", "backbone")
# What NEW_RUN takes from RUN as it is; the model files are written anew by the export.
COPIED = ("config.json", "labels.txt", "contract.json", "calibration.json", "history.csv",
          "predictions.npz", "skipped.txt", "MODEL_CARD.md", "lr_find.json", "lr_find.png")
ADAPTATION_FILE = "adaptation.json"


def add_parser(sub) -> None:
    p = sub.add_parser(VERB, help="adapt a finished run to an unlabelled target domain "
                       "(AdaBN; CORAL for backbones without BatchNorm) into a new run",
                       description="Writes NEW_RUN: RUN's model with its BatchNorm statistics "
                       "re-estimated on the target inputs (AdaBN; every weight unchanged), or "
                       "with CORAL feature alignment where the backbone has no BatchNorm. "
                       "No target labels are used for adaptation.")
    p.add_argument("run_dir", metavar="RUN", help="a finished run directory")
    p.add_argument("--target", required=True, help="unlabelled target-domain inputs: a folder "
                   "of files, or a source in the run's format (its labels are ignored)")
    p.add_argument("--out", required=True, metavar="NEW_RUN", help="run directory to write")
    p.add_argument("--method", choices=METHODS, default="auto", help="auto (default): AdaBN "
                   "when the model has BatchNorm layers, else CORAL")
    p.add_argument("--eval-data", help="labelled target data, only to report accuracy "
                   "before and after adaptation (never used to adapt)")
    p.add_argument("--source", help="the source-domain inputs (default: the run's training "
                   "data, data.train in its config.json): CORAL's source covariance, AdaBN's "
                   "reference statistics")
    p.add_argument("--reference", choices=REFERENCES, default="auto", help="AdaBN: map the "
                   "target onto the source inputs' BN statistics (source), or replace the "
                   "backbone's statistics by the target's (backbone: classic AdaBN); auto "
                   "(default): source when the source inputs are on this machine")
    p.add_argument("--limit", type=int, default=0, help="use at most N target inputs (0 = all)")
    p.add_argument("--batch-size", type=int, default=64, help="AdaBN batch size (default 64)")
    p.add_argument("--overwrite", action="store_true", help="replace a finished run in --out")
    p.add_argument("--json", action="store_true", help="print adaptation.json")


def run(args) -> int:
    report = adapt_run(args.run_dir, args.target, args.out, method=args.method,
                       eval_data=args.eval_data or "", source=args.source or "",
                       reference=args.reference, limit=args.limit, batch_size=args.batch_size, overwrite=args.overwrite)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(describe(report))
    return 0


def _log(msg: str) -> None:
    print(f"[transferkit] {msg}", file=sys.stderr, flush=True)


def read_items(domain, config, source: str, what: str, limit: int = 0) -> list:
    """The inputs of ``source`` (labels, if any, dropped): a source in the run's format, or
    a plain folder/file of the domain's inputs; at most ``limit`` (seeded, 0 = all)."""
    from transferkit.common.data.read import read, read_options

    if not Path(source).exists():
        raise ValueError(f"--{what} {source}: no such file or folder")
    try:
        items = list(read(domain, source, read_options(config), "predict").items)
    except ValueError:
        items = list(domain.read_inputs([source]))
    if not items:
        raise ValueError(f"--{what} {source}: holds no {domain.name} inputs")
    if limit and len(items) > limit:
        keep = np.sort(np.random.default_rng(config.train.seed).permutation(len(items))[:limit])
        items = [items[i] for i in keep]
    return items


def _evaluate(run, domain, model, eval_data) -> dict | None:
    """Metrics of ``model`` on the labelled ``eval_data``, or None without it."""
    from transferkit.common.output.evaluate import evaluate_predictions
    from transferkit.common.output.rundir import predict_items

    if eval_data is None:
        return None
    items, labels = eval_data
    outputs = predict_items(domain, model, items, run.contract)
    return evaluate_predictions(run.codec, run.codec.encode(labels), outputs)


def _eval_examples(run, domain, path: str):
    from transferkit.common.data.read import read, read_options

    if not path:
        return None
    examples = read(domain, path, read_options(run.config), "eval")
    try:
        run.codec.encode(examples.labels)
    except (KeyError, ValueError) as exc:
        raise ValueError(f"--eval-data {path}: {exc}; the run knows {list(run.codec.names)}") \
            from None
    return list(examples.items), list(examples.labels)


def _choose(method: str, model) -> str:
    from transferkit.common.train.adabn import batchnorm_layers

    if method != "auto":
        return method
    return "adabn" if batchnorm_layers(model) else "coral"


def _source_items(run, domain, source: str, required: bool) -> list | None:
    """Up to 2,000 source-domain inputs: ``--source``, else the run's training data; None
    when neither is on this machine and they are not ``required``."""
    source = source or run.config.data.train
    if not source or not Path(source).exists():
        if not required:
            return None
        raise ValueError(f"the source-domain inputs {source!r} (the run's training data) are "
                         f"not on this machine; pass --source DIR")
    return read_items(domain, run.config, source, "source", limit=2000)


def _adabn(run, domain, model, items, batch_size: int, source: str, reference: str) -> dict:
    from transferkit.common.data.pipeline import build_pipeline
    from transferkit.common.train.adabn import adapt_batchnorm, summarize

    source_items = (None if reference == "backbone"
                    else _source_items(run, domain, source, reference == "source"))
    if source_items is None:
        _log("adapt: AdaBN against the backbone's own statistics (classic AdaBN): no "
             "source inputs (pass --source DIR to map the target onto the training data's)")
    pipe = (lambda xs: build_pipeline(domain, run.contract, xs, batch_size=batch_size))  # noqa: E731
    changes = adapt_batchnorm(model, pipe(items), source_batches=None if source_items is None
                              else pipe(source_items))
    return {**summarize(changes), "reference": "backbone" if source_items is None else "source",
            "source_items": len(source_items or ()), "per_layer": [c.to_dict() for c in changes]}


def _coral(run, domain, model, items, source: str) -> dict:
    from transferkit.common.data.pipeline import build_pipeline, inference_batch_size
    from transferkit.common.train import coral
    from transferkit.common.train.features import extract_features

    source_items = _source_items(run, domain, source, required=True)
    source = source or run.config.data.train
    features = coral.feature_model(model)
    batch = inference_batch_size(run.config.train.batch_size)

    def extract(xs, desc):
        return extract_features(features, build_pipeline(domain, run.contract, xs,
                                                         batch_size=batch), len(xs), desc=desc)

    a, c = coral.coral_map(extract(source_items, "source features"),
                           extract(items, "target features"))
    layer = coral.fold_into_head(coral.head_of(model), a, c)
    return {"source": str(source), "source_items": len(source_items),
            "shrinkage": coral.SHRINKAGE, "folded_into": layer,
            "transform_offdiag_norm": float(np.linalg.norm(a - np.diag(np.diag(a)))),
            "transform_diag_mean": float(np.mean(np.diag(a)))}


def _changed_variables(before: list, model, method: str) -> tuple[list, int]:
    """Names of the model's variables that differ from ``before`` and the count of equal
    ones; AdaBN must have changed BatchNorm statistics only."""
    changed, same = [], 0
    for (name, old), var in zip(before, model.variables):
        if np.array_equal(old, var.numpy()):
            same += 1
        else:
            changed.append(name)
    others = [name for name in changed if "moving_" not in name]
    if method == "adabn" and others:
        raise RuntimeError(f"AdaBN changed variables other than BatchNorm statistics: "
                           f"{others[:3]}")
    return changed, same


def adapt_run(run_dir, target: str, out, *, method: str = "auto", eval_data: str = "",
              source: str = "", reference: str = "auto", limit: int = 0,
              batch_size: int = 64, overwrite: bool = False) -> dict:
    """Adapt the finished run ``run_dir`` to ``target`` and write the new run ``out``.

    Returns:
        What ``adaptation.json`` holds.
    """
    from transferkit.common.data.domain import get_domain
    from transferkit.common.output.rundir import load

    if method not in METHODS or reference not in REFERENCES:
        raise ValueError(f"adapt: --method must be one of {METHODS} and --reference one of "
                         f"{REFERENCES}, got {method!r}, {reference!r}")
    if Path(out).resolve() == Path(run_dir).resolve():
        raise ValueError(f"adapt: --out {out} is RUN itself; name a new run directory")
    run = load(run_dir)
    domain = get_domain(run.config.domain)
    items = read_items(domain, run.config, target, "target", limit)
    labelled = _eval_examples(run, domain, eval_data)
    model = run.keras_model()
    method = _choose(method, model)
    before_eval = _evaluate(run, domain, model, labelled)
    snapshot = [(v.name, v.numpy().copy()) for v in model.variables]
    _log(f"adapt: {method} on {len(items)} target inputs from {target}")
    started = time.perf_counter()
    detail = (_adabn(run, domain, model, items, batch_size, source, reference)
              if method == "adabn" else _coral(run, domain, model, items, source))
    changed, same = _changed_variables(snapshot, model, method)
    report = {"method": method, "source_run": str(Path(run_dir).resolve()),
              "target": str(target), "target_items": len(items),
              "seconds": round(time.perf_counter() - started, 2),
              "changed_variables": changed, "unchanged_variables": same, **detail,
              "labels_used_for_adaptation": False}
    if labelled is not None:
        report["eval_data"] = str(eval_data)
        report["before"], report["after"] = before_eval, _evaluate(run, domain, model, labelled)
    _write_run(run, model, Path(out), report, overwrite)
    return report


def _write_run(run, model, out: Path, report: dict, overwrite: bool) -> None:
    """NEW_RUN under its lock: copied files, the export, adaptation.json, metrics, the
    report, and the manifest last."""
    from transferkit.common.data.assets import sha256_of
    from transferkit.common.data.domain import get_domain
    from transferkit.common.io import atomic_write_text
    from transferkit.common.output.export import export_model
    from transferkit.common.train.run_guard import hold_run_dir, start_run, write_manifest

    domain = get_domain(run.config.domain)
    with hold_run_dir(out):
        start_run(out, overwrite=overwrite, resume=False)
        for name in COPIED:
            if (run.run_dir / name).is_file():
                shutil.copy2(run.run_dir / name, out / name)
        serving = domain.serving_model(model, run.contract) if domain.serving_model else None
        exported = export_model(model, out, serving, temperature=run.temperature)
        report["model_weights_sha256"] = sha256_of(out / "model_weights.h5")
        atomic_write_text(out / ADAPTATION_FILE, json.dumps(report, indent=2) + "\n")
        metrics = {**run.metrics, "exported": exported, "adaptation": _headline(report)}
        atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
        _report(out)
        write_manifest(out)  # last: from now on NEW_RUN loads


def _headline(report: dict) -> dict:
    out = {k: report[k] for k in ("method", "source_run", "target", "target_items")}
    for when in ("before", "after"):
        if isinstance(report.get(when), dict):
            out[f"target_accuracy_{when}"] = report[when].get("accuracy")
    return out


def _report(out: Path) -> None:
    from transferkit.common.output.report import write_report

    try:
        _log(f"report: {write_report(out)}")
    except Exception as exc:  # noqa: BLE001 - the model is written; `transferkit report` retries
        _log(f"report.html not written ({type(exc).__name__}: {exc})")


def describe(report: dict) -> str:
    """The summary ``transferkit adapt`` prints."""
    lines = [f"{report['method']}: {report['target_items']} target inputs; "
             f"{len(report['changed_variables'])} variables changed, "
             f"{report['unchanged_variables']} unchanged"]
    if report["method"] == "adabn":
        lines.append(f"  {report['layers']} BatchNorm layers re-estimated against the "
                     f"{report['reference']} statistics; mean shift "
                     f"{report['mean_shift_mean']:.3f} std (largest: "
                     f"{report['largest_shift_layer']}), median std ratio "
                     f"{report['std_ratio_median']:.3f}")
    else:
        lines.append(f"  CORAL map folded into {report['folded_into']} "
                     f"({report['source_items']} source inputs)")
    if "before" in report:
        lines.append(f"  target accuracy {report['before'].get('accuracy', float('nan')):.4f}"
                     f" -> {report['after'].get('accuracy', float('nan')):.4f} "
                     f"({report['eval_data']})")
    return "\n".join(lines)
