"""Reload a run directory offline: ``transferkit.load(run_dir)``.

Prediction goes through the exported SavedModel, which holds every weight and any in-graph
preprocessing (text tokenisation), so it needs no network and no registry entry.
:meth:`LoadedRun.keras_model` rebuilds the trainable tf_keras model from the registry and the
saved weights, for further training.

Example:
    >>> run = load("runs/flowers")  # doctest: +SKIP
    >>> run.classify(["rose.jpg"])  # doctest: +SKIP
    [('rose', 0.97)]
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from transferkit.common.config import RunConfig, load_config
from transferkit.common.model.contracts import Contract, contract_from_dict
from transferkit.common.data.domain import get_domain
from transferkit.common.output.export import (DEFAULT_SIGNATURE, KERAS_FILE, SAVED_MODEL,
                                              WEIGHTS, plain_model, with_temperature)
from transferkit.common.output.predictions import read_calibration
from transferkit.common.data.labels import LabelCodec
from transferkit.common.data.pipeline import build_pipeline
from transferkit.common.io import MANIFEST


class SavedModelPredictor:
    """Calls a SavedModel's serving signatures like ``model.predict`` (numpy out).

    A batch goes to ``serving_default``, or to the one-input signature whose dtype is the
    batch's where the default takes another (vision: encoded image bytes by default, float
    images through ``serving_images``).
    """

    def __init__(self, path: Path):
        from transferkit.common.keras import tf

        self._loaded = _load_saved_model(path)
        self._fn = self._loaded.signatures[DEFAULT_SIGNATURE]
        _, kwargs = self._fn.structured_input_signature
        self._names = list(kwargs)
        self.input_specs = dict(kwargs)
        self.takes_strings = [spec.dtype for spec in kwargs.values()] == [tf.string]
        self._by_dtype = {}
        for fn in [self._fn, *self._loaded.signatures.values()]:
            _, specs = fn.structured_input_signature
            if len(specs) == 1:
                self._by_dtype.setdefault(next(iter(specs.values())).dtype, fn)

    def __call__(self, batch):
        from transferkit.common.keras import tf

        if isinstance(batch, dict):
            out = self._fn(**{k: batch[k] for k in self._names})
        else:
            batch = tf.convert_to_tensor(batch)
            fn = self._by_dtype.get(batch.dtype, self._fn)
            _, specs = fn.structured_input_signature
            out = fn(**{next(iter(specs)): batch})
        return next(iter(out.values()))

    def predict(self, data, batch_size: int = 64, verbose: int = 0) -> np.ndarray:
        """Predict on a batched ``tf.data.Dataset`` or on one array/batch."""
        from transferkit.common.keras import tf

        if isinstance(data, tf.data.Dataset):
            parts = [self(b[0] if isinstance(b, tuple) else b).numpy() for b in data]
            return np.concatenate(parts) if parts else np.zeros((0,))
        return self(tf.convert_to_tensor(data)).numpy()


class DamagedRunError(RuntimeError):
    """A file of a run directory is truncated or corrupt; the message names the file."""


def _load_saved_model(path: Path):
    from transferkit.common.keras import tf

    try:
        return tf.saved_model.load(str(path))
    except Exception as exc:  # noqa: BLE001 - protobuf, DataLossError, OpError...
        cause = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:160]}" if str(
            exc).strip() else type(exc).__name__
        raise DamagedRunError(
            f"{_damaged_file(path)} is truncated or corrupt, so the run {path.parent} is "
            f"damaged: retrain it (or restore it from a copy) ({cause})") from exc


def _load_run_weights(model, path: Path):
    """``model`` with the run's weights file; a truncated or mismatched one names the file."""
    try:
        model.load_weights(str(path))
    except Exception as exc:  # noqa: BLE001 - h5py OSError, ValueError on a layer mismatch
        raise DamagedRunError(f"{path} can't be loaded into the run's model, so the run "
                              f"{path.parent} is damaged: retrain it (or restore it from a "
                              f"copy) ({type(exc).__name__}: {str(exc)[:160]})") from exc
    return model


def _damaged_file(path: Path) -> Path:
    """Which of a SavedModel's files does not read: the graph, the index or the data."""
    from tensorflow.core.protobuf import saved_model_pb2

    from transferkit.common.keras import tf

    try:
        saved_model_pb2.SavedModel().ParseFromString((path / "saved_model.pb").read_bytes())
    except Exception:  # noqa: BLE001
        return path / "saved_model.pb"
    prefix = path / "variables" / "variables"
    try:
        reader = tf.train.load_checkpoint(str(prefix))
    except Exception:  # noqa: BLE001
        return prefix.with_suffix(".index")
    try:
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except Exception:  # noqa: BLE001
        return next(iter(sorted(prefix.parent.glob("variables.data-*"))), prefix.parent)
    return path


def predict_items(domain, model, items, contract, batch_size: int = 64) -> np.ndarray:
    """Outputs of ``model`` for raw items, preprocessed as the domain does for prediction.

    ``model`` is a tf_keras model, a :class:`SavedModelPredictor` or any predictor with the
    same ``__call__``/``predict``/``takes_strings``: the domain's ``predict`` hook runs when
    it has one; a model taking strings gets the items themselves (texts); anything else gets
    the domain's ``tf.data`` pipeline.

    Example:
        >>> predict_items(get_domain("text"), run.predictor, ["great film"], run.contract)  # doctest: +SKIP
    """
    items = list(items)
    if domain.predict is not None:
        return np.asarray(domain.predict(model, items, contract, batch_size))
    if getattr(model, "takes_strings", False):  # the model takes raw text itself
        from transferkit.common.keras import tf

        return np.concatenate([np.asarray(model(tf.constant(items[i:i + batch_size])))
                               for i in range(0, len(items), batch_size)])
    return np.asarray(model.predict(build_pipeline(domain, contract, items,
                                                   batch_size=batch_size), verbose=0))


@dataclass(frozen=True)
class LoadedRun:
    """A run directory, reloaded: config, labels, contract and the exported model."""

    run_dir: Path
    config: RunConfig
    codec: LabelCodec
    contract: Contract
    metrics: dict = field(default_factory=dict)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.codec.names

    @cached_property
    def predictor(self) -> SavedModelPredictor:
        return SavedModelPredictor(self.run_dir / SAVED_MODEL)

    @cached_property
    def temperature(self) -> float | None:
        """The temperature fitted on validation (``calibration.json``), or None."""
        return read_calibration(self.run_dir).get("temperature")

    def predict(self, items, batch_size: int = 64) -> np.ndarray:
        """Model outputs for raw items (image/audio paths or texts), temperature applied."""
        return predict_items(get_domain(self.config.domain), self.predictor, items,
                             self.contract, batch_size)

    def classify(self, items, batch_size: int = 64) -> list:
        """``(label, score)`` per item; label lists for multilabel, floats for regression."""
        outputs = self.predict(items, batch_size)
        decoded = self.codec.decode(outputs)
        if self.codec.task == "multiclass":
            return [(lab, float(np.max(o))) for lab, o in zip(decoded, outputs)]
        return [(lab, None) for lab in decoded]

    def keras_model(self):
        """Rebuild the trainable tf_keras model and load the run's weights.

        The backbone is rebuilt with :func:`~transferkit.common.model.weights.architecture_weights`
        (random init where the run's weights replace the pretrained ones); one whose
        architecture is a local file (own_model) comes from the run's own ``model.keras``.
        """
        from transferkit.common.model.heads import build_head, join
        from transferkit.common.model.registry import create_backbone, get_backbone_spec
        from transferkit.common.model.weights import architecture_weights, is_handle
        from transferkit.common.output.run_model import model_from_run_file

        name, options = self.config.backbone.name, self.config.backbone.options
        weights = architecture_weights(get_backbone_spec(name), self.config.backbone.weights)
        own_file = self.run_dir / KERAS_FILE
        if weights is not None and not is_handle(weights) and own_file.is_file():
            # the architecture is the user's file (own_model): the run's copy of it, never
            # the original again (it may be gone, changed, or hold code)
            model = model_from_run_file(own_file, options.get("trust_model_code") is True)
            return _load_run_weights(model, self.run_dir / WEIGHTS)
        backbone = create_backbone(name, weights=weights, **options)
        head = build_head(backbone.output_shape, self.config.head, self.codec.num_outputs)
        return _load_run_weights(join(backbone.model, head), self.run_dir / WEIGHTS)

    def calibrated_model(self):
        """:meth:`keras_model` with the run's temperature: what every export computes."""
        return with_temperature(plain_model(self.keras_model()), self.temperature)


# What a loaded run reads; a copy may leave out the rest (report, predictions, tflite).
_LOADS_FROM = ("config.json", "labels.txt", "contract.json", "calibration.json", SAVED_MODEL,
               WEIGHTS, KERAS_FILE)


def _check_manifest(run_dir: Path) -> None:
    """A run loads only with its ``run.json``, which the trainer writes last; every file it
    lists must be there (a retrain killed part-way has none, so no old/new mix loads)."""
    path = run_dir / MANIFEST
    try:
        files = json.loads(path.read_text())["files"]
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path} is missing: {run_dir} is not a finished transferkit run (its training "
            f"did not end): resume it with `transferkit train --resume {run_dir}`, or "
            f"retrain it with --overwrite") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise DamagedRunError(f"{path} is damaged ({exc}): retrain {run_dir}") from exc
    missing = [name for name in files if name.split("/")[0] in _LOADS_FROM
               and not (run_dir / name).exists()]
    if missing:
        raise DamagedRunError(f"{run_dir / missing[0]} is missing ({len(missing)} of the "
                              f"files {path} lists): {run_dir} is incomplete; retrain it")


def load(run_dir) -> LoadedRun:
    """Reload a run directory written by ``train_run`` / ``transferkit train``.

    Raises:
        FileNotFoundError: naming the missing file when ``run_dir`` is not a complete run.
    """
    run_dir = Path(run_dir)
    for name in ("config.json", "labels.txt", "contract.json", SAVED_MODEL):
        if not (run_dir / name).exists():
            raise FileNotFoundError(f"{run_dir / name} is missing: {run_dir} is not a finished "
                                    f"transferkit run (train it, or resume with --resume)")
    _check_manifest(run_dir)
    config = load_config(run_dir / "config.json")
    meta = json.loads((run_dir / "contract.json").read_text())
    names = tuple(line for line in (run_dir / "labels.txt").read_text().splitlines() if line)
    metrics_path = run_dir / "metrics.json"
    return LoadedRun(
        run_dir=run_dir, config=config,
        codec=LabelCodec(meta["task"], names, meta.get("separator", "")),
        contract=contract_from_dict(meta["contract"]),
        metrics=json.loads(metrics_path.read_text()) if metrics_path.exists() else {})
