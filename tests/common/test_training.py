"""End to end through ``train_run``: learning, the run directory, both phases, reload."""
import json
import math

import numpy as np
import pytest

from transferkit.common.data.domain import PipelineOptions
from tests.common.conftest import COLOURS, TINY


def test_learns_colours_well_above_chance(colour_run):
    test = colour_run.result.metrics["test"]
    assert test["n"] == 30  # 25% of 120, stratified
    assert test["accuracy"] >= 0.8
    assert test["accuracy"] > test["majority_baseline"] + 0.4


def test_metrics_json_has_per_class_scores_and_confusion_matrix(colour_run):
    run_dir = colour_run.result.run_dir
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics == json.loads(json.dumps(colour_run.result.metrics))
    test = metrics["test"]
    assert test["labels"] == list(COLOURS)
    assert set(test["per_class"]) == set(COLOURS)
    for row in test["per_class"].values():
        assert set(row) == {"precision", "recall", "f1", "support"}
        assert all(0.0 <= row[k] <= 1.0 for k in ("precision", "recall", "f1"))
    assert [test["per_class"][c]["support"] for c in COLOURS] == [10, 10, 10]
    cm = np.array(test["confusion_matrix"])
    assert cm.shape == (3, 3) and cm.sum() == test["n"]
    assert cm.sum(axis=1).tolist() == [10, 10, 10]  # rows are the true classes
    assert math.isclose(np.trace(cm) / cm.sum(), test["accuracy"])
    for i, colour in enumerate(COLOURS):  # recall is the diagonal over the row
        assert math.isclose(test["per_class"][colour]["recall"], cm[i, i] / cm[i].sum())
    assert metrics["validation"]["n"] == 24
    assert metrics["exported"] == {"weights": "model_weights.h5", "saved_model": "saved_model",
                                   "keras": "model.keras"}


def test_run_directory_holds_every_artefact(colour_run):
    from transferkit.common.config import load_config

    run_dir = colour_run.result.run_dir
    for name in ("config.json", "labels.txt", "contract.json", "metrics.json", "history.csv",
                 "MODEL_CARD.md", "model_weights.h5", "model.keras",
                 "saved_model/saved_model.pb", "checkpoints/state.json",
                 "checkpoints/phase1_best_weights.h5", "checkpoints/phase1_final_weights.h5",
                 "checkpoints/phase2_best_weights.h5", "checkpoints/phase2_final_weights.h5"):
        assert (run_dir / name).is_file(), name
    assert (run_dir / "labels.txt").read_text().splitlines() == list(COLOURS)
    assert load_config(run_dir / "config.json") == colour_run.config
    state = json.loads((run_dir / "checkpoints" / "state.json").read_text())
    assert state == {"phase1": {"done": True}, "phase2": {"done": True}}
    # No temporary files from the atomic writes are left behind.
    assert not [p for p in run_dir.rglob(".*") if ".tmp" in p.name or ".old" in p.name]


def test_history_has_both_phases(colour_run):
    """Phase 1 (a solved linear head): one row per L2 strength tried; phase 2: per epoch."""
    import csv

    rows = list(csv.DictReader((colour_run.result.run_dir / "history.csv").open()))
    phase1 = [r for r in rows if r["phase"] == "phase1"]
    assert [int(r["epoch"]) for r in phase1] == list(range(len(phase1))) and len(phase1) >= 4
    assert {"C", "val_loss", "val_accuracy"} <= set(phase1[0])
    assert [(r["phase"], int(r["epoch"])) for r in rows[len(phase1):]] == [
        ("phase2", e) for e in range(3)]
    chosen = colour_run.result.metrics["head"]["chosen"]["C"]
    assert chosen in [float(r["C"]) for r in phase1]


def test_fine_tune_changes_only_unfrozen_blocks_and_keeps_batchnorm(colour_run):
    """Phase 2 trains conv2/conv3; bn layers stay in inference mode, their statistics kept."""
    backbone, initial = colour_run.backbone, colour_run.initial
    for name in ("bn1", "bn2"):
        layer = backbone.model.get_layer(name)
        assert not layer.trainable
        for before, after in zip(initial[name], layer.get_weights()):
            np.testing.assert_array_equal(before, after, err_msg=name)  # incl. moving stats
    for before, after in zip(initial["conv1"], backbone.model.get_layer("conv1").get_weights()):
        np.testing.assert_array_equal(before, after)
    for name in ("conv2", "conv3"):
        assert backbone.model.get_layer(name).trainable
        kernel_before, kernel_after = initial[name][0], backbone.model.get_layer(name).get_weights()[0]
        assert not np.allclose(kernel_before, kernel_after), f"{name} did not fine-tune"


def test_two_rate_model_gives_the_backbone_a_lower_rate(colour_run):
    model = colour_run.result.model
    head_opt, body_opt = model.optimizer, model._backbone_optimizer
    assert body_opt is not None and body_opt is not head_opt
    assert math.isclose(float(head_opt.learning_rate.numpy()), 1e-3, rel_tol=1e-6)
    # one optimizer per block group (conv2, bn2, conv3), each at 0.1 x the head's rate
    assert len(body_opt.learning_rates) == 3
    assert all(math.isclose(r, 1e-4, rel_tol=1e-6) for r in body_opt.learning_rates)
    steps = 3 * math.ceil(66 / 16)  # 3 fine-tune epochs over 66 training images
    assert int(head_opt.iterations.numpy()) == steps
    conv2, bn2, conv3 = body_opt.optimizers  # bn2 stays frozen: its optimizer never steps
    assert [int(o.iterations.numpy()) for o in (conv2, bn2, conv3)] == [steps, 0, steps]
    # The backbone optimizer covers the unfrozen backbone variables.
    backbone_vars = {id(v) for v in colour_run.backbone.model.trainable_variables}
    assert backbone_vars <= model._backbone_var_ids
    assert {v.name.split("/")[0] for v in colour_run.backbone.model.trainable_variables} == {
        "conv2", "conv3"}


def _images(folder):
    return sorted(str(p) for p in folder.rglob("*.png"))


def test_reload_predicts_like_the_trained_model(colour_run, colour_holdout, monkeypatch):
    """``transferkit.load`` needs no registry entry: the SavedModel holds everything."""
    import transferkit
    from transferkit.common.model import registry
    from transferkit.common.data.domain import get_domain

    items = _images(colour_holdout)
    contract = colour_run.backbone.contract
    ds = get_domain("vision").make_dataset(items, None, contract, PipelineOptions(64))
    expected = colour_run.result.model.predict(ds, verbose=0)

    monkeypatch.delitem(registry._REGISTRY, TINY)
    run = transferkit.load(colour_run.result.run_dir)
    assert run.labels == COLOURS and run.config == colour_run.config
    got = run.predict(items, batch_size=5)  # batches that don't divide the items
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)
    classified = run.classify(items)
    assert [label for label, _ in classified] == [COLOURS[i] for i in expected.argmax(1)]
    assert all(isinstance(score, float) and 1 / 3 <= score <= 1 for _, score in classified)
    truth = [p.split("/")[-2] for p in items]
    hits = sum(label == t for (label, _), t in zip(classified, truth))
    assert hits >= 0.8 * len(items)


def test_keras_model_rebuilds_with_the_run_weights(colour_run, colour_holdout):
    from transferkit.common.output.rundir import load

    items = _images(colour_holdout)[:6]
    run = load(colour_run.result.run_dir)
    model = run.keras_model()
    x = np.stack([_pixels(p) for p in items])
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               colour_run.result.model.predict(x, verbose=0), atol=1e-5)


def _pixels(path):
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB"), np.float32)


def test_load_names_the_missing_file(tmp_path):
    from transferkit.common.output.rundir import load

    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="labels.txt is missing"):
        load(tmp_path)
