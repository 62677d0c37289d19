"""``transferkit export RUN --format savedmodel|keras|tflite [--quantize ...]``.

Each export is a folder, ``RUN/export/<format>[-<quantize>]/`` by default: the model file(s),
``labels.txt`` and ``MODEL_CARD.md`` from the run, and ``parity.json``. It is written to a
temporary sibling, checked there against the run's Keras model (temperature applied) on
held-out examples (:mod:`transferkit.common.output.parity`), and renamed into place only
when the check passes: a failed export leaves no folder, and an older good one untouched.

* ``savedmodel``: ``saved_model/``, raw input with the preprocessing inside (the domain's
  ``serving_model``: image bytes or any-size images, strings, waveforms).
* ``keras``: ``model.keras`` (tf_keras), on the model's own inputs.
* ``tflite``: ``model.tflite`` from builtin ops only, checked in LiteRT's interpreter. The
  raw-input model is tried first; where its preprocessing has no TFLite ops (image
  decoding, tensorflow-text tokenisers) the file takes the model's own inputs instead, the
  run's SavedModel assets (``vocab.txt``) are copied beside it and a note says so. A model
  whose own layers need a non-builtin op (the speech ``AudioMicrofrontend``) fails naming it.

Example:
    >>> result = export_run("runs/flowers", "tflite", quantize="int8")  # doctest: +SKIP
    >>> print("\\n".join(result.lines()))  # doctest: +SKIP
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from transferkit.common.data.domain import get_domain
from transferkit.common.io import atomic_path
from transferkit.common.keras import keras
from transferkit.common.output import parity as par
from transferkit.common.output.export import (KERAS_FILE, SAVED_MODEL, keras_file_error,
                                              plain_model, save_serving, serving_models,
                                              with_temperature)
from transferkit.common.output.rundir import SavedModelPredictor, load, predict_items
from transferkit.common.output.tflite import (QUANTIZE, TFLITE_FILE, TFLitePredictor,
                                              TFLiteConversionError, convert_model)

FORMATS = ("savedmodel", "keras", "tflite")
PARITY_FILE = "parity.json"
RUN_FILES = ("labels.txt", "MODEL_CARD.md")
ARTEFACTS = {"savedmodel": SAVED_MODEL, "keras": KERAS_FILE, "tflite": TFLITE_FILE}


class ExportError(RuntimeError):
    """The run can't be exported in the format asked for; the message says why and what to
    use instead."""


@dataclass(frozen=True)
class ExportResult:
    """A finished, parity-checked export."""

    run_dir: Path
    fmt: str
    quantize: str | None
    out_dir: Path
    files: tuple
    parity: par.Parity
    notes: tuple = ()

    def lines(self) -> list[str]:
        """What ``transferkit export`` prints."""
        kind = self.fmt + (f" ({self.quantize})" if self.quantize else "")
        return [f"exported {kind} to {self.out_dir}", f"  files: {', '.join(self.files)}",
                *(f"  note: {n}" for n in self.notes), f"  {self.parity.line()}"]


@dataclass(frozen=True)
class _Job:
    run: object
    model: keras.Model  # the trained model as rebuilt from the run
    temperature: float | None
    serving: object  # the domain's serving model(s), or None

    @property
    def calibrated(self) -> keras.Model:
        return with_temperature(plain_model(self.model), self.temperature)


def export_dir_name(fmt: str, quantize: str | None = None) -> str:
    """``"tflite-int8"``, ``"savedmodel"``, ..."""
    return fmt + (f"-{quantize}" if quantize else "")


def export_run(run_dir, fmt: str, quantize: str | None = None, out=None,
               min_agreement: float | None = None, max_abs: float | None = None) -> ExportResult:
    """Export a finished run in one format, checked against its Keras model.

    Args:
        fmt: ``"savedmodel"``, ``"keras"`` or ``"tflite"``.
        quantize: TFLite only: None, ``"dynamic"``, ``"float16"`` or ``"int8"`` (activations
            calibrated on a stratified sample of the run's training data).
        out: The export folder; default ``run_dir/export/<fmt>[-<quantize>]``.
        min_agreement, max_abs: Parity thresholds; defaults 0.99 and 1e-3 unquantized,
            0.99 for float16, 0.95 and unbounded for dynamic and int8.

    Raises:
        ParityError: naming the file, the figures and the thresholds (nothing written).
        ExportError, TFLiteConversionError: the format can't hold this model.
    """
    fmt, quantize = _check_format(fmt, quantize)
    run = load(run_dir)
    target = Path(out) if out else run.run_dir / "export" / export_dir_name(fmt, quantize)
    model = run.keras_model()
    domain = get_domain(run.config.domain)
    serving = domain.serving_model(model, run.contract) if domain.serving_model else None
    job = _Job(run, model, run.temperature, serving)
    with atomic_path(target) as tmp:
        tmp.mkdir(parents=True)
        notes = _WRITERS[fmt](job, tmp, quantize)
        parity = check_artefact(run, fmt, tmp, par.limits(quantize, min_agreement, max_abs),
                                path_shown=target / ARTEFACTS[fmt], reference=job.calibrated)
        files = _finish(run, tmp, fmt, quantize, parity, notes)
    return ExportResult(run.run_dir, fmt, quantize, target, files, parity, tuple(notes))


def _check_format(fmt: str, quantize: str | None) -> tuple[str, str | None]:
    fmt = fmt.lower()
    quantize = None if quantize in (None, "", "none") else quantize
    if fmt not in FORMATS:
        raise ValueError(f"export format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if quantize is not None and fmt != "tflite":
        raise ValueError(f"--quantize applies to --format tflite only, not {fmt}")
    if quantize is not None and quantize not in QUANTIZE:
        raise ValueError(f"quantize must be one of {', '.join(QUANTIZE)}, got {quantize!r}")
    return fmt, quantize


def check_artefact(run, fmt: str, folder: Path, lim: par.Limits, path_shown: Path | None = None,
                   reference: keras.Model | None = None) -> par.Parity:
    """Parity of the ``fmt`` artefact in ``folder`` with ``run``'s calibrated Keras model
    (``reference``, else rebuilt with :meth:`LoadedRun.calibrated_model`).

    Raises:
        ParityError: when the figures miss ``lim``.
    """
    domain = get_domain(run.config.domain)
    items, source = par.holdout_items(run)
    # The reference first: rebuilding it registers the custom layers a .keras file names.
    reference = reference if reference is not None else run.calibrated_model()
    want = predict_items(domain, reference, items, run.contract)
    predictor, interpreter = _predictor(fmt, Path(folder))
    got = predict_items(domain, predictor, items, run.contract)
    temperature = f" at temperature {run.temperature:g}" if run.temperature else ""
    parity = par.measure(want, got, run.codec.task, lim, artefact=ARTEFACTS[fmt],
                         items_from=source, interpreter=interpreter,
                         reference=f"the Keras model{temperature}")
    if not parity.passed:
        raise par.ParityError(path_shown or folder / ARTEFACTS[fmt], parity)
    return parity


def check_export(export_dir, min_agreement: float | None = None, max_abs: float | None = None,
                 run_dir=None) -> par.Parity:
    """Re-run an export's parity check against its run (``run_dir``, else the one named in
    its ``parity.json``).

    Example:
        >>> check_export("runs/flowers/export/tflite-int8").top1_agreement  # doctest: +SKIP
    """
    export_dir = Path(export_dir)
    saved = json.loads((export_dir / PARITY_FILE).read_text())
    run = load(run_dir or saved["run_dir"])
    lim = par.limits(saved["quantize"], min_agreement, max_abs)
    try:
        return check_artefact(run, saved["format"], export_dir, lim)
    except par.ParityError as exc:
        raise par.ParityError(export_dir / ARTEFACTS[saved["format"]], exc.parity,
                              written=True) from None


def _predictor(fmt: str, folder: Path):
    if fmt == "savedmodel":
        return SavedModelPredictor(folder / SAVED_MODEL), None
    if fmt == "keras":
        return keras.models.load_model(str(folder / KERAS_FILE), compile=False), None
    lite = TFLitePredictor((folder / TFLITE_FILE).read_bytes())
    return lite, lite.interpreter_name


def _write_savedmodel(job: _Job, tmp: Path, quantize) -> list[str]:
    models = serving_models(job.model, job.serving, job.temperature)
    save_serving(models, tmp / SAVED_MODEL)
    return [f"signature {name}: " + ", ".join(f"{_name(i)} {i.dtype.name} {_shape(i)}"
                                              for i in m.inputs) for name, m in models.items()]


def _write_keras(job: _Job, tmp: Path, quantize) -> list[str]:
    reason = keras_file_error(job.calibrated, tmp / KERAS_FILE)
    if reason:
        raise ExportError(f"{job.run.run_dir}: the model can't be saved as {KERAS_FILE} "
                          f"({reason}); export --format savedmodel instead")
    return [f"{KERAS_FILE} takes the model's own inputs: " + ", ".join(
        f"{_name(i)} {i.dtype.name} {_shape(i)}" for i in job.model.inputs)]


def _write_tflite(job: _Job, tmp: Path, quantize) -> list[str]:
    refused = None
    if job.serving is not None:
        raw = serving_models(job.model, job.serving, job.temperature)["serving_default"]
        try:
            return _convert_into(tmp, raw, quantize, job)
        except TFLiteConversionError as exc:
            refused = exc
    model = fixed_lengths(job.calibrated, job.run.contract)
    try:
        notes = _convert_into(tmp, model, quantize, job)
    except TFLiteConversionError as exc:
        raise TFLiteConversionError(
            f"{job.run.run_dir}: this model {exc}; TFLite can't run it (TF select ops need "
            f"the Flex delegate, which can't be checked here); serve the SavedModel in "
            f"{job.run.run_dir / SAVED_MODEL} instead", exc.ops) from exc
    if refused is None:
        return notes
    copied = _copy_assets(job.run, tmp)
    return [f"the raw-input model's preprocessing needs {', '.join(refused.ops) or 'ops'} "
            f"(no TFLite builtins), so {notes[0]}, the model's own inputs: preprocess "
            "app-side" + (f" ({', '.join(copied)} copied beside it)" if copied else "")]


def _convert_into(tmp: Path, model: keras.Model, quantize, job: _Job) -> list[str]:
    """Convert ``model`` into ``tmp/model.tflite``; a model on strings has its decoding
    layer tried alone first, which fails in a second where the whole model takes minutes."""
    if any(i.dtype == "string" for i in model.inputs) and len(model.layers) > 2:
        convert_model(keras.Model(model.inputs, model.layers[1].output))
    content = convert_model(model, quantize, _representative(job, model, quantize))
    (tmp / TFLITE_FILE).write_bytes(content)
    inputs = ", ".join(f"{_name(i)} {i.dtype.name} {_shape(i)}" for i in model.inputs)
    return [f"{TFLITE_FILE} takes {inputs}"]


def fixed_lengths(model: keras.Model, contract) -> keras.Model:
    """``model`` on inputs of fixed length where the contract gives one (text: ``[batch,
    max_length]`` token ids): TFLite converts the encoder's slices only with static shapes,
    and on-device callers pad to a fixed length anyway."""
    length = getattr(contract, "max_length", None)
    if not length or all(None not in tuple(i.shape[1:]) for i in model.inputs):
        return model
    inputs = {_name(i): keras.Input([length if d is None else d for d in i.shape[1:]],
                                    dtype=i.dtype, name=_name(i)) for i in model.inputs}
    args = inputs if len(inputs) > 1 else next(iter(inputs.values()))
    return keras.Model(inputs, model(args), name=model.name)


def _representative(job: _Job, model: keras.Model, quantize):
    if quantize != "int8":
        return None
    items = par.training_sample(job.run)
    batches = par.model_inputs(get_domain(job.run.config.domain), model, items,
                               job.run.contract)
    return lambda: iter(batches)


def _copy_assets(run, tmp: Path) -> list[str]:
    """The run SavedModel's assets (a tokenizer's ``vocab.txt``), copied into ``tmp``."""
    assets = Path(run.run_dir) / SAVED_MODEL / "assets"
    names = []
    for path in sorted(assets.iterdir()) if assets.is_dir() else []:
        if path.is_file():
            shutil.copy2(path, tmp / path.name)
            names.append(path.name)
    return names


def _finish(run, tmp: Path, fmt: str, quantize, parity: par.Parity, notes) -> tuple:
    """Copy the run's labels and model card, write ``parity.json``; the folder's files."""
    for name in RUN_FILES:
        if (Path(run.run_dir) / name).is_file():
            shutil.copy2(Path(run.run_dir) / name, tmp / name)
    record = {"format": fmt, "quantize": quantize, "run_dir": str(Path(run.run_dir).resolve()),
              "temperature": run.temperature, **parity.to_dict(), "notes": list(notes)}
    (tmp / PARITY_FILE).write_text(json.dumps(record, indent=2) + "\n")
    return tuple(sorted(p.name for p in tmp.iterdir()))


def _name(tensor) -> str:
    return tensor.name.split(":")[0]


def _shape(tensor) -> str:
    return "[" + ", ".join("b" if d is None and i == 0 else str(d)
                           for i, d in enumerate(tensor.shape)) + "]"


_WRITERS = {"savedmodel": _write_savedmodel, "keras": _write_keras, "tflite": _write_tflite}
