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
from transferkit.common.output.export import SAVED_MODEL, WEIGHTS
from transferkit.common.data.labels import LabelCodec
from transferkit.common.data.pipeline import build_pipeline


class SavedModelPredictor:
    """Calls a SavedModel's serving signature like ``model.predict`` (numpy out)."""

    def __init__(self, path: Path):
        from transferkit.common.keras import tf

        self._loaded = tf.saved_model.load(str(path))
        self._fn = self._loaded.signatures["serving_default"]
        _, kwargs = self._fn.structured_input_signature
        self._names = list(kwargs)
        self.takes_strings = [spec.dtype for spec in kwargs.values()] == [tf.string]

    def __call__(self, batch):
        if isinstance(batch, dict):
            out = self._fn(**{k: batch[k] for k in self._names})
        else:
            out = self._fn(**{self._names[0]: batch})
        return next(iter(out.values()))

    def predict(self, data, batch_size: int = 64, verbose: int = 0) -> np.ndarray:
        """Predict on a batched ``tf.data.Dataset`` or on one array/batch."""
        from transferkit.common.keras import tf

        if isinstance(data, tf.data.Dataset):
            parts = [self(b[0] if isinstance(b, tuple) else b).numpy() for b in data]
            return np.concatenate(parts) if parts else np.zeros((0,))
        return self(tf.convert_to_tensor(data)).numpy()


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

    def predict(self, items, batch_size: int = 64) -> np.ndarray:
        """Model outputs for raw items (image/audio paths or texts)."""
        domain = get_domain(self.config.domain)
        items = list(items)
        if domain.predict is not None:
            return np.asarray(domain.predict(self.predictor, items, self.contract, batch_size))
        if self.predictor.takes_strings:  # the SavedModel takes raw text itself
            from transferkit.common.keras import tf

            return np.concatenate([self.predictor(tf.constant(items[i:i + batch_size])).numpy()
                                   for i in range(0, len(items), batch_size)])
        return self.predictor.predict(build_pipeline(domain, self.contract, items,
                                                     batch_size=batch_size))

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
        (random init where the run's weights replace the pretrained ones).
        """
        from transferkit.common.model.heads import build_head, join
        from transferkit.common.model.registry import create_backbone, get_backbone_spec
        from transferkit.common.model.weights import architecture_weights

        name = self.config.backbone.name
        weights = architecture_weights(get_backbone_spec(name), self.config.backbone.weights)
        backbone = create_backbone(name, weights=weights, **self.config.backbone.options)
        head = build_head(backbone.output_shape, self.config.head, self.codec.num_outputs)
        model = join(backbone.model, head)
        model.load_weights(str(self.run_dir / WEIGHTS))
        return model


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
    config = load_config(run_dir / "config.json")
    meta = json.loads((run_dir / "contract.json").read_text())
    names = tuple(line for line in (run_dir / "labels.txt").read_text().splitlines() if line)
    metrics_path = run_dir / "metrics.json"
    return LoadedRun(
        run_dir=run_dir, config=config,
        codec=LabelCodec(meta["task"], names, meta.get("separator", "")),
        contract=contract_from_dict(meta["contract"]),
        metrics=json.loads(metrics_path.read_text()) if metrics_path.exists() else {})
