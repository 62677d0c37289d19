"""Parity of an exported model with the Keras model it came from, on held-out examples.

The reference is the run's Keras model with its temperature (``LoadedRun.calibrated_model``)
fed through the domain's own preprocessing; the exported artefact gets the raw items the
way it takes them (image bytes, strings, waveforms) or its own inputs. Both see the run's
held-out items: ``predictions.npz``'s test items (else validation), else ``data.test``,
else the run's seeded re-split. Two figures: the max absolute output difference and the
top-1 agreement (multiclass; for multilabel, examples whose labels at 0.5 all agree).

Example:
    >>> p = measure(keras_outputs, outputs, "multiclass", limits("int8"), artefact="model.tflite")  # doctest: +SKIP
    >>> p.passed, p.line()  # doctest: +SKIP
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PARITY_LIMIT = 256  # held-out examples compared, evenly spread over the split
REPRESENTATIVE = 200  # training examples that calibrate int8 activations
MIN_AGREEMENT = {None: 0.99, "float16": 0.99, "dynamic": 0.95, "int8": 0.95}
MAX_ABS = {None: 1e-3}  # quantized exports: the difference is reported, not bounded


@dataclass(frozen=True)
class Limits:
    """Thresholds a check must meet; None leaves that figure unchecked."""

    min_agreement: float | None = 0.99
    max_abs: float | None = 1e-3


def limits(quantize: str | None, min_agreement: float | None = None,
           max_abs: float | None = None) -> Limits:
    """The defaults for a quantization mode, overridden where given.

    Example:
        >>> limits("int8")
        Limits(min_agreement=0.95, max_abs=None)
    """
    return Limits(MIN_AGREEMENT.get(quantize, 0.95) if min_agreement is None else min_agreement,
                  MAX_ABS.get(quantize) if max_abs is None else max_abs)


@dataclass(frozen=True)
class Parity:
    """One comparison: the figures, the thresholds and where the examples came from."""

    artefact: str
    examples: int
    items_from: str
    max_abs_diff: float
    agreement: float | None
    limits: Limits
    reference: str = "the Keras model"
    interpreter: str | None = None

    def failures(self) -> list[str]:
        out = []
        lim = self.limits
        if lim.min_agreement is not None and self.agreement is not None \
                and self.agreement < lim.min_agreement:
            out.append(f"top-1 agreement {self.agreement:.4f} < {lim.min_agreement}")
        if lim.max_abs is not None and not self.max_abs_diff <= lim.max_abs:
            out.append(f"max |diff| {self.max_abs_diff:.3g} > {lim.max_abs:g}")
        return out

    @property
    def passed(self) -> bool:
        return not self.failures()

    def line(self) -> str:
        agree = "n/a" if self.agreement is None else f"{self.agreement:.4f}"
        lim = self.limits
        bounds = ", ".join(f"{k} {v:g}" for k, v in dataclasses.asdict(lim).items()
                           if v is not None)
        where = f" in {self.interpreter}" if self.interpreter else ""
        return (f"parity{where} on {self.examples} held-out examples ({self.items_from}) vs "
                f"{self.reference}: max |diff| {self.max_abs_diff:.2e}, top-1 agreement "
                f"{agree} ({bounds or 'no thresholds'}): {'ok' if self.passed else 'FAILED'}")

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out.update(top1_agreement=out.pop("agreement"), passed=self.passed, **out.pop("limits"))
        return out


class ParityError(ValueError):
    """An exported model disagrees with its Keras model beyond the thresholds."""

    def __init__(self, path: Path, parity: Parity, written: bool = False):
        self.parity = parity
        fate = "left in place" if written else "not written"
        super().__init__(f"{path}: the exported model disagrees with the Keras model: "
                         f"{'; '.join(parity.failures())} on {parity.examples} held-out "
                         f"examples (max |diff| {parity.max_abs_diff:.3g}); the export was "
                         f"{fate}")


def measure(want: np.ndarray, got: np.ndarray, task: str, lim: Limits, **fields) -> Parity:
    """Compare the artefact's outputs ``got`` with the Keras model's ``want`` (same items in
    the same order); ``fields`` fill the rest of :class:`Parity`."""
    want, got = np.asarray(want, np.float64), np.asarray(got, np.float64)
    if want.shape != got.shape:
        raise ValueError(f"{fields.get('artefact')}: outputs of shape {got.shape}, the Keras "
                         f"model's are {want.shape}")
    diff = float(np.max(np.abs(got - want))) if got.size else 0.0
    if task == "multiclass" and got.ndim == 2:
        agreement = float(np.mean(got.argmax(1) == want.argmax(1)))
    elif task == "multilabel":
        agreement = float(np.mean(np.all((got > 0.5) == (want > 0.5), axis=1)))
    else:
        agreement = None
    return Parity(examples=len(got), max_abs_diff=diff if np.isfinite(diff) else float("inf"),
                  agreement=agreement, limits=lim, **fields)


def spread(items: list, limit: int) -> list:
    """At most ``limit`` of ``items``, evenly spaced (every class of a sorted split)."""
    if len(items) <= limit:
        return list(items)
    return [items[i] for i in np.linspace(0, len(items) - 1, limit).round().astype(int)]


def holdout_items(run, limit: int = PARITY_LIMIT) -> tuple[list, str]:
    """The run's held-out items and where they came from."""
    from transferkit.common.data.domain import get_domain
    from transferkit.common.data.read import load_splits, read, read_options
    from transferkit.common.output.predictions import PREDICTIONS

    path = Path(run.run_dir) / PREDICTIONS
    if path.exists():
        with np.load(path) as saved:
            for key in ("test_items", "validation_items"):
                if key in saved.files and len(saved[key]):
                    return spread([str(i) for i in saved[key]], limit), f"{PREDICTIONS} {key}"
    domain = get_domain(run.config.domain)
    if run.config.data.test:
        test = read(domain, run.config.data.test, read_options(run.config), "test")
        return spread(list(test.items), limit), f"data.test {run.config.data.test}"
    splits = load_splits(run.config, domain)
    part, name = (splits.test, "test") if splits.test is not None and len(splits.test) else \
        (splits.validation, "validation")
    return spread(list(part.items), limit), f"the run's seeded {name} split"


def training_sample(run, n: int = REPRESENTATIVE) -> list:
    """Up to ``n`` training items, stratified: classes in turn, each in seeded order (the
    validation items ``predictions.npz`` kept, when the training data is not on this machine)."""
    from transferkit.common.data.domain import get_domain
    from transferkit.common.data.read import read, read_options

    config = run.config
    if not Path(str(config.data.train)).exists():  # a recipe's description, or moved data
        return _saved_validation(run, config.data.train, n)
    train = read(get_domain(config.domain), config.data.train, read_options(config), "train")
    rng = np.random.default_rng(config.train.seed)
    groups: dict[str, list] = {}
    for i in rng.permutation(len(train)):
        groups.setdefault(str(train.labels[i]), []).append(train.items[i])
    queues = [groups[k] for k in sorted(groups)]
    picked = [q[j] for j in range(max(map(len, queues))) for q in queues if j < len(q)]
    return picked[:n]


def _saved_validation(run, train, n: int) -> list:
    """The validation items ``predictions.npz`` kept, when the training data is not here."""
    from transferkit.common.output.predictions import PREDICTIONS

    path = Path(run.run_dir) / PREDICTIONS
    if path.exists():
        with np.load(path) as saved:
            if "validation_items" in saved.files and len(saved["validation_items"]):
                return spread([str(i) for i in saved["validation_items"]], n)
    raise ValueError(f"int8 calibrates on the run's training data, and {train!r} is not on "
                     f"this machine (nor validation items in {path}); export --quantize "
                     "dynamic or float16 instead, or rerun where the data is")


class InputRecorder:
    """Stands in for a model with ``input_specs`` and records what the domain feeds it,
    zero-padded to the model's fixed sizes (as :class:`TFLitePredictor` feeds them)."""

    def __init__(self, input_specs: dict):
        from transferkit.common.keras import tf

        self.input_specs = input_specs
        self.takes_strings = [s.dtype for s in input_specs.values()] == [tf.string]
        self.batches: list = []

    def __call__(self, batch):
        from transferkit.common.output.tflite import pad_to

        names = list(self.input_specs)
        arrays = [np.asarray(batch[k]) for k in names] if isinstance(batch, dict) else \
            [np.asarray(batch)]
        self.batches.append([pad_to(a, self.input_specs[k].shape) for a, k in zip(arrays, names)])
        return np.zeros((len(arrays[0]), 1), np.float32)

    def predict(self, data, batch_size: int = 64, verbose: int = 0) -> np.ndarray:
        parts = [self(b[0] if isinstance(b, tuple) else b) for b in data]
        return np.concatenate(parts) if parts else np.zeros((0, 1), np.float32)


def model_inputs(domain, model, items, contract) -> list:
    """What ``model`` (a tf_keras model) receives for each item through the domain's
    prediction path: one list of arrays (in input order) per item."""
    from transferkit.common.keras import tf
    from transferkit.common.output.rundir import predict_items

    specs = {i.name.split(":")[0]: tf.TensorSpec(i.shape, i.dtype) for i in model.inputs}
    recorder = InputRecorder(specs)
    predict_items(domain, recorder, items, contract, batch_size=1)
    return recorder.batches
