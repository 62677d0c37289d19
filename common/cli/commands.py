"""Handlers behind the ``transferkit`` verbs; each takes the parsed args, returns an exit code."""
from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import re
from pathlib import Path

from transferkit.common.cli.inspect import cmd_backbones, cmd_compare, cmd_report  # noqa: F401
from transferkit.common.cli.options import overrides_from_args, parse_key_values
from transferkit.common.cli.predict import cmd_predict  # noqa: F401
from transferkit.common.config import BackboneConfig, RunConfig, load_config


def _read_config_file(path: str) -> RunConfig:
    return load_config(Path(path))  # JSON or YAML; errors name the file


def config_from_args(args) -> RunConfig:
    """The run config: --config file (or the run's own on --resume), then flags."""
    previous = Path(args.out) / "config.json"
    if args.config:
        base = _read_config_file(args.config)
    elif args.resume and previous.exists():
        base = load_config(previous)
    else:
        base = RunConfig()
    bb = base.backbone
    weights = args.weights if args.weights is not None else bb.weights
    backbone = BackboneConfig(
        name=args.backbone or bb.name, weights=weights,
        options={**bb.options, **parse_key_values(args.option),
                 **({"trust_model_code": True} if getattr(args, "trust_model_code", False)
                    else {})})
    if getattr(args, "trust_model_code", False) and backbone.name != "own_model":
        raise ValueError(f"--trust-model-code applies to the own_model backbone (your own "
                         f"model file), not {backbone.name!r}")
    data = dataclasses.replace(base.data, **overrides_from_args(args, "data"))
    if args.data:
        data = dataclasses.replace(data, train=args.data)
    return dataclasses.replace(
        base, domain=args.domain or base.domain, backbone=backbone, data=data,
        train=dataclasses.replace(base.train, **overrides_from_args(args, "train")),
        head=dataclasses.replace(base.head, **overrides_from_args(args, "head")))


def cmd_train(args) -> int:
    from transferkit.common.cli.summary import summary, summary_text
    from transferkit.common.train.trainer import train_run

    args = _resume_args(args)
    config = config_from_args(args)
    if not config.data.train:
        raise ValueError("train: --data is required")
    quiet = args.quiet or args.json
    with _quiet(quiet):
        result = train_run(config, args.out, resume=args.resume, verbose=0 if quiet else None,
                           overwrite=getattr(args, "overwrite", False))
    s = summary(result.run_dir, result.metrics)
    print(json.dumps(s, indent=2) if args.json else summary_text(s))
    return 0


def _resume_args(args):
    """``--resume RUN`` names the run directory (``--out`` then optional); ``--resume``
    alone resumes ``--out``. Returns args with ``out`` set and ``resume`` a bool."""
    import argparse

    path = args.resume if isinstance(args.resume, str) else None
    if path and args.out and Path(path).resolve() != Path(args.out).resolve():
        raise ValueError(f"train: --resume {path} and --out {args.out} name two run "
                         f"directories; give one")
    out = path or args.out
    if not out:
        raise ValueError("train: --out is required (or --resume RUN)")
    if path and not (Path(path) / "config.json").is_file():
        raise FileNotFoundError(f"--resume {path}: {Path(path) / 'config.json'} is missing, "
                                f"so {path} is not a transferkit run to resume")
    return argparse.Namespace(**{**vars(args), "out": out, "resume": bool(args.resume)})


@contextlib.contextmanager
def _quiet(on: bool):
    """``--quiet``/``--json``: log lines and progress bars (stderr) are dropped; an error
    still reaches the user, printed by ``main`` after this block."""
    if not on:
        yield
        return
    with contextlib.redirect_stderr(io.StringIO()):
        yield


def cmd_evaluate(args) -> int:
    from transferkit.common.data.read import read, read_options
    from transferkit.common.data.domain import get_domain
    from transferkit.common.output.evaluate import evaluate_predictions, headline
    from transferkit.common.io import atomic_write_text
    from transferkit.common.output.rundir import load

    run = load(args.run_dir)
    examples = read(get_domain(run.config.domain), args.data, read_options(run.config), "eval")
    try:
        targets = run.codec.encode(examples.labels)
    except (KeyError, ValueError) as exc:
        raise ValueError(f"{args.data}: {exc}; the run knows {list(run.codec.names)}") from None
    outputs = run.predict(examples.items, batch_size=args.batch_size)
    metrics = evaluate_predictions(run.codec, targets, outputs)
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(Path(args.data).resolve()).strip("/"))[-80:]
    out = Path(args.run_dir) / "evaluations" / f"{slug}.json"
    atomic_write_text(out, json.dumps({"data": str(args.data), **metrics}, indent=2))
    print(f"{len(examples)} examples: {headline(metrics)}")
    for name, row in metrics.get("per_class", {}).items():
        print(f"  {name:>20}  P={row['precision']:.3f} R={row['recall']:.3f} "
              f"F1={row['f1']:.3f} n={row['support']}")
    print(f"written to {out}")
    return 0


def cmd_export(args) -> int:
    from transferkit.common.output.export_run import export_run

    quantize = None if args.quantize == "none" else args.quantize
    if quantize and args.format != "tflite":
        raise ValueError(f"export: --quantize {quantize} applies to --format tflite only")
    result = export_run(args.run_dir, args.format, quantize=quantize, out=args.out,
                        min_agreement=args.min_agreement)
    for line in result.lines():
        print(line)
    return 0


def cmd_weights(args) -> int:
    from transferkit.common.model.weights import named_weights

    entries = named_weights()
    if args.action == "list":
        for name, entry in sorted(entries.items()):
            path = entry.cached()
            print(f"{name:<24} backbone {entry.backbone:<16} "
                  f"{'cached at ' + str(path) if path else 'not fetched'}  [{entry.licence}]")
        return 0
    for name in args.names or sorted(entries):
        if name not in entries:
            raise KeyError(f"unknown weights {name!r}; known: {', '.join(sorted(entries))}")
        print(f"{name}: {entries[name].fetch()}")
    return 0


def cmd_recipe(args) -> int:
    from transferkit.common.recipe_registry import get_recipe, list_recipes

    if not args.name:
        for name, recipe in list_recipes().items():
            print(f"{name:<26} {recipe.domain:<7} {recipe.summary}")
        return 0
    recipe = get_recipe(args.name)
    out = Path(args.out or f"runs/{args.name}")
    _release_finished_runs(out, getattr(args, "overwrite", False))
    result = recipe.run(out, quick=args.quick, **parse_key_values(args.option))
    print(json.dumps(result, indent=2, default=str))
    return 0


def _release_finished_runs(out: Path, overwrite: bool) -> None:
    """A recipe rerun into ``out`` replaces its finished runs only with ``--overwrite``:
    their manifests go first, so each ``train_run`` starts them over as new runs."""
    from transferkit.common.io import MANIFEST

    finished = sorted(out.rglob(MANIFEST)) if out.is_dir() else []
    if finished and not overwrite:
        raise FileExistsError(f"{out} holds {len(finished)} finished run(s) (e.g. "
                              f"{finished[0].parent}); pass --overwrite to run the recipe "
                              "again into it, or choose another --out")
    for manifest in finished:
        manifest.unlink()


def cmd_data(args) -> int:
    import argparse

    from transferkit.common.data.datasets import get_dataset, list_datasets

    if not args.dataset:
        for name, dataset in list_datasets().items():
            print(f"{name:<16} {dataset.domain:<7} {dataset.summary}")
        return 0
    dataset = get_dataset(args.dataset)
    parser = argparse.ArgumentParser(prog=f"transferkit data {dataset.name}",
                                     description=dataset.description or dataset.summary)
    dataset.add_arguments(parser)
    print(dataset.write(parser.parse_args(args.dataset_args)))
    return 0
