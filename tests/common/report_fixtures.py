"""Synthetic run directories for the report tests: numpy and PIL only, no TensorFlow.

Each builder writes what the trainer writes (config.json, labels.txt, metrics.json,
history.csv, predictions.npz, calibration.json) from made-up model outputs, with the metrics
computed by the toolkit's own evaluate/calibration code so the figures agree.
"""
import csv
import json
from pathlib import Path

import numpy as np

from transferkit.common.config import (BackboneConfig, HeadConfig, RunConfig, TrainConfig,
                                       save_config)
from transferkit.common.data.labels import LabelCodec
from transferkit.common.output import calibration as cal
from transferkit.common.output.evaluate import evaluate_predictions

LABELS = ("tabby_cat", "golden_dog", "blue_bird", "green_frog")
MULTILABELS = ("indoor", "outdoor", "people", "animal")
N = 40  # examples per split
SCRIPT_TEXT = "<script>alert('x')</script> a review that fools the model"
LONG_TEXT = "word " * 200  # far past the page's 300-character cut
CONFUSED = ("tabby_cat", "golden_dog", 4)  # the pair the report must list first, and its count


def _softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def multiclass_outputs(seed: int = 0):
    """Targets and probabilities where 4 cats are called dogs; cat #0 is the worst example."""
    rng = np.random.default_rng(seed)
    targets = np.arange(N) % len(LABELS)
    logits = rng.normal(0.0, 1.0, (N, len(LABELS)))
    logits[np.arange(N), targets] += 3.0
    cats = np.flatnonzero(targets == 0)
    logits[cats[:CONFUSED[2]], 1] += 4.0
    logits[cats[0], 1] += 6.0  # the very worst: true class near zero probability
    return targets, _softmax(logits * 4.0).astype(np.float32), cats  # over-confident: T > 1


def _items(domain: str, root: Path, targets, cats) -> np.ndarray:
    if domain == "vision":
        from PIL import Image

        (root / "images").mkdir(parents=True, exist_ok=True)
        items = []
        for i, t in enumerate(targets):
            path = root / "images" / f"{LABELS[t]}_{i:02d}.png"
            colour = [(200, 60, 60), (60, 200, 60), (60, 60, 200), (200, 200, 60)][t]
            Image.new("RGB", (24, 24), colour).save(path)
            items.append(str(path))
        items[cats[1]] = str(root / "images" / "gone.png")  # a deleted image: a grey tile
        return np.array(items)
    if domain == "text":
        items = [f"review {i} about a {LABELS[t]}" for i, t in enumerate(targets)]
        items[cats[0]], items[cats[1]] = SCRIPT_TEXT, LONG_TEXT
        return np.array(items)
    return np.array([f"/data/clips/{LABELS[t]}_{i:03d}.wav" for i, t in enumerate(targets)])


def write_history(path: Path, phase2: bool = True) -> None:
    """Phase 1: solved-head candidates (``l2`` and ``val_*`` only); phase 2: epochs."""
    rows = [{"phase": "phase1", "epoch": i, "l2": l2, "val_loss": 1.0 - 0.1 * i,
             "val_accuracy": 0.5 + 0.05 * i} for i, l2 in enumerate((1e-4, 1e-2, 1.0, 100.0))]
    if phase2:
        rows += [{"phase": "phase2", "epoch": e, "loss": 0.6 - 0.05 * e, "accuracy": 0.7 + 0.03 * e,
                  "val_loss": 0.65 - 0.04 * e, "val_accuracy": 0.68 + 0.02 * e} for e in range(4)]
    fields = ["phase", "epoch"] + sorted({k for r in rows for k in r} - {"phase", "epoch"})
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows(rows)


def _write_common(run: Path, domain: str, task: str, labels, metrics: dict, epochs: int):
    run.mkdir(parents=True, exist_ok=True)
    config = RunConfig(domain=domain, backbone=BackboneConfig(name="tiny_cnn_test", weights=None),
                       head=HeadConfig(task=task), train=TrainConfig(epochs=epochs))
    save_config(config, run / "config.json")
    (run / "labels.txt").write_text("\n".join(labels) + "\n")
    metrics = {"task": task, "backbone": "tiny_cnn_test", "weights": None, "head": {},
               "timing": {"total_s": 12.5 + epochs}, "exported": {}, **metrics}
    (run / "metrics.json").write_text(json.dumps(metrics, indent=2))
    write_history(run / "history.csv")


def _map(rng, targets, centres):
    # Multilabel targets are [m, k] 0/1: place each example by its first label.
    first = targets.argmax(axis=1) if targets.ndim == 2 else targets
    features = centres[first] + rng.normal(0, 0.5, (len(targets), centres.shape[1]))
    return {"map_features": features.astype(np.float32), "map_targets": targets,
            "map_split": np.array("validation")}


def multiclass_run(root: Path, domain: str = "vision", name: str = "run", epochs: int = 5,
                   seed: int = 0) -> Path:
    """A finished multiclass run of ``domain`` with every file the report reads."""
    run = Path(root) / name
    targets, probs, cats = multiclass_outputs(seed)
    codec = LabelCodec("multiclass", LABELS)
    split = {s: evaluate_predictions(codec, targets, probs) for s in ("validation", "test")}
    _write_common(run, domain, "multiclass", LABELS, split, epochs)
    items = _items(domain, Path(root) / f"{name}-data", targets, cats)
    rng = np.random.default_rng(seed + 1)
    arrays = {f"{s}_{k}": v for s in ("validation", "test")
              for k, v in (("outputs", probs), ("targets", targets), ("items", items))}
    np.savez(run / "predictions.npz", **arrays,
             **_map(rng, targets, rng.normal(0, 3, (len(LABELS), 16))))
    t = cal.fit_temperature(probs, targets)
    ece = lambda p: cal.expected_calibration_error(p, targets)  # noqa: E731
    calibration = {"split": "validation", "bins": 15, "temperature": t,
                   "ece_before": ece(probs), "ece_after": ece(cal.apply_temperature(probs, t)),
                   "test_ece_before": ece(probs),
                   "test_ece_after": ece(cal.apply_temperature(probs, t))}
    (run / "calibration.json").write_text(json.dumps(calibration))
    return run


def multilabel_run(root: Path, name: str = "tags") -> Path:
    """A multilabel text run with per-label thresholds."""
    rng = np.random.default_rng(3)
    run = Path(root) / name
    targets = (rng.random((N, len(MULTILABELS))) < 0.4).astype(int)
    probs = np.clip(targets * 0.45 + rng.random(targets.shape) * 0.55, 0, 1).astype(np.float32)
    codec = LabelCodec("multilabel", MULTILABELS)
    split = {s: evaluate_predictions(codec, targets, probs) for s in ("validation", "test")}
    _write_common(run, "text", "multilabel", MULTILABELS, split, 5)
    items = np.array([f"photo caption {i}" for i in range(N)])
    np.savez(run / "predictions.npz", test_outputs=probs, test_targets=targets, test_items=items,
             **_map(rng, targets, rng.normal(0, 3, (len(MULTILABELS), 8))))
    thresholds = cal.choose_thresholds(probs, targets)
    (run / "calibration.json").write_text(json.dumps(
        {"thresholds": {n: float(t) for n, t in zip(MULTILABELS, thresholds)}}))
    return run


def regression_run(root: Path, name: str = "prices") -> Path:
    """A regression speech run: values, no classes, no calibration."""
    rng = np.random.default_rng(4)
    run = Path(root) / name
    targets = rng.normal(10, 3, N)
    outputs = (targets + rng.normal(0, 1, N))[:, None].astype(np.float32)
    codec = LabelCodec("regression", ("value",))
    split = {"test": evaluate_predictions(codec, targets, outputs)}
    _write_common(run, "speech", "regression", ("value",), split, 5)
    np.savez(run / "predictions.npz", test_outputs=outputs, test_targets=targets,
             test_items=np.array([f"clip_{i}.wav" for i in range(N)]),
             map_features=rng.normal(0, 1, (N, 6)).astype(np.float32), map_targets=targets,
             map_split=np.array("test"))
    return run


def old_run(root: Path, name: str = "old") -> Path:
    """A run from before predictions.npz and calibration.json existed."""
    run = multiclass_run(root, "text", name)
    (run / "predictions.npz").unlink()
    (run / "calibration.json").unlink()
    return run
