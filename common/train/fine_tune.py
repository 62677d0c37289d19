"""Phase 2: fine-tune the top of the backbone with the head, on the labelled pipelines."""
from __future__ import annotations

from transferkit.common.model.freezing import all_trainable, count_trainable, unfreeze
from transferkit.common.train.optim import make_optimizer
from transferkit.common.train.phases import (PhaseContext, _callbacks, _class_weight, _compile,
                                             _log, _mark_done, _resume_point)


def fine_tune(ctx: PhaseContext, model) -> None:
    """Phase 2 by ``train.fine_tune_method``: ``"lora"`` trains low-rank adapters
    (:mod:`transferkit.common.train.lora_phase`); else :func:`fine_tune_full`."""
    if ctx.config.train.fine_tune_method == "lora":
        from transferkit.common.train.lora_phase import fine_tune_lora

        return fine_tune_lora(ctx, model)
    return fine_tune_full(ctx, model)


def fine_tune_full(ctx: PhaseContext, model) -> None:
    """Phase 2: unfreeze the top of the backbone; backbone LR = head LR × multiplier."""
    t = ctx.config.train
    names = unfreeze(ctx.backbone, top=t.unfreeze_top, from_layer=t.unfreeze_from)
    _log(f"phase 2: fine-tuning {len(names)} backbone blocks "
         f"({count_trainable(ctx.backbone):,} backbone weights trainable), "
         f"head lr {t.fine_tune_learning_rate:g}, backbone lr "
         f"{t.fine_tune_learning_rate * t.backbone_lr_multiplier:g}")
    _compile(ctx, model, t.fine_tune_learning_rate)
    if t.backbone_lr_multiplier != 1.0:
        model.set_backbone_optimizer(
            make_optimizer(t.fine_tune_learning_rate * t.backbone_lr_multiplier),
            ctx.backbone.model.trainable_variables)
    done, initial = _resume_point(ctx, "phase2", model)
    if done:
        return
    val = ctx.dataset("validation")
    before = model.evaluate(val, verbose=0, return_dict=True)["loss"]
    with all_trainable(model):  # the weight order must not depend on what is frozen
        snapshot = model.get_weights()
    model.fit(ctx.dataset("train", training=True), validation_data=val,
              epochs=t.fine_tune_epochs, initial_epoch=initial, class_weight=_class_weight(ctx),
              callbacks=_callbacks(ctx, "phase2"), verbose=ctx.verbose)
    after = model.evaluate(val, verbose=0, return_dict=True)["loss"]
    if after > before:
        _log(f"phase 2 did not improve the validation loss ({after:.4f} against "
             f"{before:.4f} before it): keeping the phase-1 weights")
        with all_trainable(model):
            model.set_weights(snapshot)
    _mark_done(ctx, "phase2", model)
