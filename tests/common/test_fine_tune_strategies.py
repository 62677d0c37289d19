"""Phase 2's strategies: block groups, gradual unfreezing, per-group learning rates,
frozen BatchNorm, the warm-up schedule, and a gradual run that trains and resumes."""
import dataclasses
import json
from types import SimpleNamespace

import numpy as np
import pytest

from tests.common.conftest import run_config, tiny_cnn_layers
from transferkit.common.config import TrainConfig
from transferkit.common.keras import keras
from transferkit.common.model.blocks import block_groups, by_prefix
from transferkit.common.model.heads import join
from transferkit.common.train import callbacks as cb
from transferkit.common.train.fine_tune import _compile, _Stages, plan_fine_tune
from transferkit.common.train.schedule import lr_factor

GROUPED = "tiny_grouped_test"
GRADUAL = dict(unfreeze_schedule="gradual", fine_tune_learning_rate=1e-3,
               backbone_lr_multiplier=1.0, lr_group_decay=0.5, weight_decay=0.0)


@pytest.fixture(scope="module")
def grouped():
    """The tiny CNN registered with three declared groups: conv1+bn1, conv2+bn2, conv3."""
    from transferkit.common.model.contracts import ImageContract
    from transferkit.common.model.registry import register_backbone, unregister_backbone

    @register_backbone(GROUPED, domain="vision", contract=ImageContract(size=32, scaling="unit"),
                       groups=("conv1", "conv2", "conv3"))
    def build(weights=None, contract=None):
        return tiny_cnn_layers(contract)

    yield GROUPED
    unregister_backbone(GROUPED)


def _setup(grouped, **train):
    from transferkit.common.model.registry import create_backbone

    backbone = create_backbone(grouped, weights=None)
    head = keras.Sequential([keras.layers.Dense(3, activation="softmax")])
    model = join(backbone.model, head)
    t = TrainConfig(**{**GRADUAL, **train})
    codec = SimpleNamespace(task="multiclass")
    ctx = SimpleNamespace(backbone=backbone, codec=codec, config=SimpleNamespace(train=t))
    plan = plan_fine_tune(backbone, t)
    return ctx, model, plan, _compile(ctx, model, plan)


def _data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 255, (n, 32, 32, 3)).astype("float32"), rng.integers(0, 3, n)


def _weights(model, *names):
    return {n: [w.copy() for w in model.get_layer(n).get_weights()] for n in names}


def test_declared_groups_and_the_prefix_fallback(grouped):
    from transferkit.common.model.registry import as_backbone, create_backbone

    groups = block_groups(create_backbone(grouped, weights=None))
    assert [(g.name, [b.name for b in g.blocks]) for g in groups] == [
        ("conv1", ["conv1", "bn1"]), ("conv2", ["conv2", "bn2"]), ("conv3", ["conv3"])]
    plain = as_backbone(tiny_cnn_layers(create_backbone(grouped, weights=None).contract),
                        create_backbone(grouped, weights=None).contract)
    assert [g.name for g in block_groups(plain)] == ["conv1", "bn1", "conv2", "bn2", "conv3"]
    names = ["conv_dw_12", "conv_dw_12_bn", "conv_pw_12", "conv4_block1_1_conv",
             "conv4_block2_1_conv", "block_3_expand", "block_3_project"]
    units = [SimpleNamespace(name=n) for n in names]
    assert [g.name for g in by_prefix(units)] == ["conv_dw_12", "conv_pw_12", "conv4",
                                                  "block_3"]


def test_gradual_plan_starts_one_group_per_epoch_from_the_top(grouped):
    _, _, plan, _ = _setup(grouped)
    assert [g.name for g in plan.groups] == ["conv1", "conv2", "conv3"]
    assert plan.starts == (2, 1, 0)
    assert [b.name for b in plan.trainable_at(0)] == ["conv3"]
    assert [b.name for b in plan.trainable_at(1)] == ["conv2", "bn2", "conv3"]
    assert len(plan.trainable_at(5)) == 5
    assert np.allclose(plan.rates, [2.5e-4, 5e-4, 1e-3])
    _, _, limited, _ = _setup(grouped, unfreeze_top=3)  # conv2, bn2, conv3 allowed
    assert [g.name for g in limited.groups] == ["conv2", "conv3"] and limited.starts == (1, 0)
    _, _, together, _ = _setup(grouped, unfreeze_schedule="all")
    assert together.starts == (0, 0, 0)


def test_which_layers_train_at_each_epoch_of_the_gradual_schedule(grouped):
    ctx, model, plan, _ = _setup(grouped)
    x, y = _data()
    layers = ("conv1", "bn1", "conv2", "bn2", "conv3")
    moved = []

    class Record(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.before = _weights(model, *layers)

        def on_epoch_end(self, epoch, logs=None):
            after = _weights(model, *layers)
            moved.append({n for n in layers if not all(
                np.array_equal(a, b) for a, b in zip(self.before[n], after[n]))})

    model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[_Stages(ctx, plan, model),
                                                                  Record()])
    assert moved == [{"conv3"}, {"conv2", "conv3"}, {"conv1", "conv2", "conv3"}]


def test_per_group_update_sizes_follow_the_configured_factor(grouped):
    _, model, plan, group_opt = _setup(grouped, unfreeze_schedule="all")
    x, y = _data(16)
    layers = ("conv1", "conv2", "conv3")
    before = _weights(model, *layers)
    head_before = model.layers[-1].get_weights()[0].copy()
    model.train_on_batch(x, y)  # one Adam step: |Δw| = lr for every weight with a gradient
    steps = {n: np.median(np.abs(model.get_layer(n).get_weights()[0] - before[n][0]))
             for n in layers}
    head_step = np.median(np.abs(model.layers[-1].get_weights()[0] - head_before))
    assert steps["conv3"] == pytest.approx(1e-3, rel=0.05)
    assert steps["conv2"] / steps["conv3"] == pytest.approx(0.5, rel=0.05)
    assert steps["conv1"] / steps["conv2"] == pytest.approx(0.5, rel=0.05)
    assert head_step == pytest.approx(1e-3, rel=0.05)
    assert group_opt.learning_rates == pytest.approx([2.5e-4, 5e-4, 1e-3])


@pytest.mark.parametrize("train_bn", [False, True])
def test_batchnorm_stays_frozen_unless_asked(grouped, train_bn):
    ctx, model, plan, _ = _setup(grouped, unfreeze_schedule="all", train_bn=train_bn)
    x, y = _data()
    before = _weights(model, "bn1", "bn2")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[_Stages(ctx, plan, model)])
    after = _weights(model, "bn1", "bn2")
    changed = [not np.array_equal(a, b) for n in ("bn1", "bn2")
               for a, b in zip(before[n], after[n])]  # gamma, beta, moving mean, variance
    assert all(changed) if train_bn else not any(changed)


def test_warm_up_at_each_start_under_a_cosine_decay():
    assert lr_factor(0, 100, warmup=4) == pytest.approx(0.25, rel=0.01)
    assert lr_factor(3, 100, warmup=4) == pytest.approx(1.0, rel=0.01)
    assert lr_factor(49, 100, start=50, warmup=4) == 0.0
    assert lr_factor(50, 100, start=50, warmup=4) == pytest.approx(0.25 * 0.5, rel=0.05)
    assert lr_factor(99, 100) < 0.01
    assert lr_factor(50, 100, decay="linear") == pytest.approx(0.5)


class Interrupted(Exception):
    pass


def test_a_gradual_run_trains_resumes_and_keeps_its_best_epoch(
        grouped, colour_folders, tmp_path, monkeypatch):
    from transferkit.common.train.trainer import train_run

    class StopAfterTwo(cb.ResumeState):
        def on_epoch_end(self, epoch, logs=None):
            super().on_epoch_end(epoch, logs)
            if self.phase == "phase2" and epoch == 1 and not resumed:
                raise Interrupted()

    resumed = False
    monkeypatch.setattr(cb, "ResumeState", StopAfterTwo)
    config = run_config(colour_folders, fine_tune_epochs=3, **{**GRADUAL, "weight_decay": 1e-4})
    config = dataclasses.replace(config, backbone=dataclasses.replace(config.backbone,
                                                                      name=GROUPED))
    with pytest.raises(Interrupted):
        train_run(config, tmp_path / "run", verbose=0)
    state = json.loads((tmp_path / "run" / "checkpoints" / "state.json").read_text())
    assert state["phase2"] == {"epoch": 2, "done": False}
    resumed = True
    result = train_run(config, tmp_path / "run", verbose=0, resume=True)
    state = json.loads((tmp_path / "run" / "checkpoints" / "state.json").read_text())
    assert state["phase2"] == {"done": True}
    rows = (tmp_path / "run" / "history.csv").read_text().splitlines()
    assert sum(r.startswith("phase2,") for r in rows) == 3
    assert result.metrics["test"]["accuracy"] >= 0.8


def test_phase_2_trains_at_the_backbones_registered_rate_unless_the_run_sets_one():
    import transferkit.speech  # noqa: F401  (registers kws_mobilenetv2)
    from transferkit.common.config import RunConfig
    from transferkit.common.model.registry import (DEFAULT_FINE_TUNE_LR, fine_tune_lr,
                                                   get_backbone_spec)
    from transferkit.common.train.fine_tune import with_backbone_rate

    kws = SimpleNamespace(spec=get_backbone_spec("kws_mobilenetv2"))
    assert fine_tune_lr(kws.spec) == 1e-3  # measured: benchmarks/fine_tune_strategies.py
    default = RunConfig(domain="speech")
    assert default.train.fine_tune_learning_rate == 0  # "the backbone's"
    assert with_backbone_rate(default, kws).train.fine_tune_learning_rate == 1e-3
    custom = SimpleNamespace(spec=None)  # as_backbone(model, contract): no registration
    assert with_backbone_rate(default, custom).train.fine_tune_learning_rate == \
        DEFAULT_FINE_TUNE_LR == 1e-4
    mine = dataclasses.replace(default, train=TrainConfig(fine_tune_learning_rate=3e-5))
    assert with_backbone_rate(mine, kws).train.fine_tune_learning_rate == 3e-5
    with pytest.raises(ValueError, match="fine_tune_learning_rate must be a non-negative"):
        TrainConfig(fine_tune_learning_rate=-1.0)
