"""Phase 2: fine-tune the backbone with the head, on the labelled pipelines.

The backbone trains in its natural block groups (:mod:`transferkit.common.model.blocks`),
each with its own learning rate: the top group at head LR × ``backbone_lr_multiplier``,
each group below at ``lr_group_decay`` times the one above (one AdamW per group,
:class:`~transferkit.common.train.optim.GroupOptimizer`). ``unfreeze_schedule="gradual"``
starts the top group at epoch 0 and one more group below it each epoch; every group warms
up when it starts, under a cosine decay over the phase. BatchNorm stays frozen unless
``train_bn``. One criterion selects: the epoch with the lowest validation loss is kept,
and only when it beats the phase-1 model's validation loss; else phase 1's weights stay.
"""
from __future__ import annotations

import csv
import dataclasses
import math
from dataclasses import dataclass

from transferkit.common.keras import keras
from transferkit.common.model.blocks import block_groups
from transferkit.common.model.freezing import (all_trainable, blocks, count_trainable,
                                               train_only, unfreeze)
from transferkit.common.model.heads import loss_and_metrics
from transferkit.common.model.registry import fine_tune_lr
from transferkit.common.train import callbacks as cb
from transferkit.common.train.optim import GroupOptimizer, group_learning_rates, make_optimizer
from transferkit.common.train.phases import (PhaseContext, _callbacks, _class_weight, _log,
                                             _mark_done, _resume_point)
from transferkit.common.train.schedule import GroupSchedule


def fine_tune(ctx: PhaseContext, model) -> None:
    """Phase 2 by ``train.fine_tune_method``: ``"lora"`` trains low-rank adapters
    (:mod:`transferkit.common.train.lora_phase`); else :func:`fine_tune_full`."""
    if ctx.config.train.fine_tune_method == "lora":
        from transferkit.common.train.lora_phase import fine_tune_lora

        return fine_tune_lora(ctx, model)
    return fine_tune_full(ctx, model)


def with_backbone_rate(config, backbone):
    """``config`` (a RunConfig) with ``train.fine_tune_learning_rate`` 0 (the default)
    replaced by ``backbone``'s registered rate (else 1e-4); ``config.json`` keeps the
    number, so a resume trains at it."""
    if config.train.fine_tune_learning_rate > 0:
        return config
    rate = fine_tune_lr(getattr(backbone, "spec", None))
    return dataclasses.replace(config, train=dataclasses.replace(
        config.train, fine_tune_learning_rate=rate))


@dataclass(frozen=True)
class Plan:
    """Which block groups train, from which epoch, at what peak rate (bottom to top)."""

    groups: tuple
    starts: tuple
    rates: tuple
    head_rate: float
    train_bn: bool = False

    def trainable_at(self, epoch: int) -> list:
        """The blocks that train in ``epoch`` (0-based)."""
        return [b for g, s in zip(self.groups, self.starts) if s <= epoch for b in g.blocks]


def plan_fine_tune(backbone, train) -> Plan:
    """The :class:`Plan` of ``train`` (a TrainConfig) for ``backbone``: the groups that hold
    the blocks ``unfreeze_top``/``unfreeze_from`` allow, their start epochs and rates.

    Example:
        >>> plan = plan_fine_tune(backbone, TrainConfig(unfreeze_schedule="gradual"))  # doctest: +SKIP
        >>> [g.name for g in plan.groups], plan.starts  # doctest: +SKIP
        (['conv1', ..., 'conv_dw_12'], (4, 3, 2, 1, 0))
    """
    names = unfreeze(backbone, top=train.unfreeze_top, from_layer=train.unfreeze_from,
                     train_bn=train.train_bn)
    units = blocks(backbone)
    allowed = {id(u) for u in units[len(units) - len(names):]}
    groups = []
    for group in block_groups(backbone):
        kept = tuple(b for b in group.blocks if id(b) in allowed)
        if kept:
            groups.append(type(group)(group.name, kept))
    n = len(groups)
    gradual = train.unfreeze_schedule == "gradual"
    starts = tuple(n - 1 - i if gradual else 0 for i in range(n))
    rates = group_learning_rates(train.fine_tune_learning_rate, train.backbone_lr_multiplier,
                                 train.lr_group_decay, n)
    return Plan(tuple(groups), starts, tuple(rates), train.fine_tune_learning_rate,
                train.train_bn)


def fine_tune_full(ctx: PhaseContext, model) -> None:
    """Phase 2 by the :class:`Plan` of the run's config (see the module docstring)."""
    t = ctx.config.train
    plan = plan_fine_tune(ctx.backbone, t)
    group_opt = _compile(ctx, model, plan)
    state = cb.read_state(ctx.ckpt).get("phase2", {}) if ctx.resume else {}
    if state.get("done"):
        with all_trainable(model):  # saved in the canonical weight order
            _resume_point(ctx, "phase2", model)
        return
    val = ctx.dataset("validation")
    before = model.evaluate(val, verbose=0, return_dict=True)["loss"]
    with all_trainable(model):  # the weight order must not depend on what is frozen
        snapshot = model.get_weights()
    _stage(ctx, plan, model, max(0, int(state.get("epoch", 0)) - 1))
    _, initial = _resume_point(ctx, "phase2", model)  # not done: checked above
    calls, best = _phase2_callbacks(ctx, plan, model, group_opt, initial)
    model.fit(_train_data(ctx), validation_data=val, epochs=t.fine_tune_epochs,
              initial_epoch=initial, class_weight=_class_weight(ctx), callbacks=calls,
              verbose=ctx.verbose)
    _stage(ctx, plan, model, max(plan.starts, default=0))  # fit restores its entry flags
    _select(ctx, model, best, before, snapshot)
    with all_trainable(model):
        _mark_done(ctx, "phase2", model)


def _compile(ctx: PhaseContext, model, plan: Plan) -> GroupOptimizer:
    t = ctx.config.train
    loss, metrics = loss_and_metrics(ctx.codec.task)
    model.compile(optimizer=make_optimizer(plan.head_rate, t.weight_decay), loss=loss,
                  metrics=metrics)
    group_opt = GroupOptimizer([make_optimizer(r, t.weight_decay) for r in plan.rates],
                               [[w for b in g.blocks for w in b.weights] for g in plan.groups])
    model.set_backbone_optimizer(group_opt, ctx.backbone.model.weights)
    shown = ", ".join(f"{g.name} {r:.2g}" + (f" from epoch {s + 1}" if s else "")
                      for g, r, s in zip(plan.groups[::-1], plan.rates[::-1], plan.starts[::-1]))
    _log(f"phase 2: {t.unfreeze_schedule} unfreezing, {len(plan.groups)} block groups "
         f"({count_trainable(ctx.backbone):,} backbone weights trainable in all), head lr "
         f"{plan.head_rate:g}; group lr, top first: {shown}")
    return group_opt


def _stage(ctx: PhaseContext, plan: Plan, model, epoch: int) -> None:
    """Set what trains in ``epoch``; a new set of variables needs a new train function."""
    train_only(ctx.backbone, plan.trainable_at(epoch), plan.train_bn)
    model.train_function = None


class _Stages(keras.callbacks.Callback):
    """Gradual unfreezing: each epoch begins with its groups trainable."""

    def __init__(self, ctx, plan, model):
        super().__init__()
        self.ctx, self.plan, self._model, self.current = ctx, plan, model, None

    def on_epoch_begin(self, epoch, logs=None):
        wanted = len(self.plan.trainable_at(epoch))
        if wanted != self.current:
            _stage(self.ctx, self.plan, self._model, epoch)
            self._model.train_function = self._model.make_train_function(force=True)
            if self.current is not None:
                _log(f"phase 2 epoch {epoch + 1}: {wanted} backbone blocks train")
            self.current = wanted


class _CanonicalBest(cb.AtomicBestCheckpoint):
    """The best checkpoint, written in the canonical weight order (groups unfreeze
    between epochs, which would reorder the weights of a partly frozen model)."""

    def on_epoch_end(self, epoch, logs=None):
        with all_trainable(self.model):
            super().on_epoch_end(epoch, logs)


def _phase2_callbacks(ctx, plan, model, group_opt, initial: int) -> tuple[list, _CanonicalBest]:
    t, calls = ctx.config.train, []
    best = _CanonicalBest(ctx.ckpt / "phase2_best_weights.h5")
    best.best = _best_so_far(ctx, initial)
    for call in _callbacks(ctx, "phase2"):
        if isinstance(call, cb.AtomicBestCheckpoint):
            call = best
        elif isinstance(call, keras.callbacks.EarlyStopping):
            call.restore_best_weights = False  # the best checkpoint is loaded after fit
        calls.append(call)
    steps = math.ceil(len(ctx.splits.train) / t.batch_size)
    calls.append(GroupSchedule(
        [model.optimizer, *group_opt.optimizers], [plan.head_rate, *plan.rates],
        [0, *plan.starts], steps_per_epoch=steps, epochs=t.fine_tune_epochs,
        warmup_steps=round(t.warmup_epochs * steps), decay=t.lr_decay))
    if len(set(plan.starts)) > 1:
        calls.insert(0, _Stages(ctx, plan, model))
    return calls, best


def _best_so_far(ctx: PhaseContext, initial: int) -> float:
    """The lowest phase-2 validation loss of the epochs before ``initial`` (a resumed run
    must not overwrite a better checkpoint of the interrupted one)."""
    path = ctx.run_dir / "history.csv"
    if not initial or not path.exists():
        return math.inf
    losses = [float(r["val_loss"]) for r in csv.DictReader(path.open())
              if r["phase"] == "phase2" and int(r["epoch"]) < initial and r.get("val_loss")]
    return min(losses, default=math.inf)


def _train_data(ctx: PhaseContext):
    t = ctx.config.train
    return ctx.dataset("train", training=True, augment=t.augment or t.fine_tune_augment)


def _select(ctx: PhaseContext, model, best: _CanonicalBest, before: float, snapshot) -> None:
    """Keep phase 2's best epoch when its validation loss beats phase 1's, else phase 1."""
    if best.best < before and best.path.is_file():
        _log(f"phase 2: keeping its best epoch (validation loss {best.best:.4f}, phase 1 "
             f"{before:.4f})")
        with all_trainable(model):
            model.load_weights(str(best.path))
        return
    _log(f"phase 2 did not improve the validation loss ({best.best:.4f} at best against "
         f"{before:.4f} before it): keeping the phase-1 weights")
    with all_trainable(model):
        model.set_weights(snapshot)
