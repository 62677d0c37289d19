"""Phase 2's learning-rate schedule: a linear warm-up each time a group starts training,
under a cosine (or linear, or constant) decay over the whole phase.

The rate is a pure function of the global step, so a resumed run continues the schedule
where the interrupted one was. A warm-up after each unfreezing step keeps the first,
large Adam updates of a newly trainable group (its moments start at zero) from wrecking
the pretrained weights.
"""
from __future__ import annotations

import math

from transferkit.common.keras import keras

DECAYS = ("cosine", "linear", "constant")


def lr_factor(step: int, total: int, start: int = 0, warmup: int = 0,
              decay: str = "cosine") -> float:
    """The multiplier of a base rate at ``step`` (0-based) of ``total`` steps, for a group
    that starts training at step ``start`` and warms up over ``warmup`` steps.

    Example:
        >>> [round(lr_factor(s, 10, warmup=2, decay="constant"), 2) for s in range(3)]
        [0.5, 1.0, 1.0]
    """
    if step < start:
        return 0.0
    warm = min(1.0, (step - start + 1) / warmup) if warmup > 0 else 1.0
    progress = min(1.0, step / max(1, total))
    if decay == "cosine":
        fall = 0.5 * (1.0 + math.cos(math.pi * progress))
    elif decay == "linear":
        fall = 1.0 - progress
    else:
        fall = 1.0
    return warm * fall


class GroupSchedule(keras.callbacks.Callback):
    """Set each optimizer's learning rate before every batch.

    Args:
        optimizers: The optimizers, one per schedule entry.
        base_rates: Each optimizer's peak learning rate.
        start_epochs: The epoch each optimizer's variables start training (its warm-up).
        steps_per_epoch: Batches per epoch.
        epochs: The phase's length in epochs.
        warmup_steps: Warm-up length after each start, in batches.
        decay: One of :data:`DECAYS`.
    """

    def __init__(self, optimizers, base_rates, start_epochs, *, steps_per_epoch: int,
                 epochs: int, warmup_steps: int, decay: str = "cosine"):
        super().__init__()
        self.optimizers, self.base_rates = list(optimizers), list(base_rates)
        self.start_epochs = list(start_epochs)
        self.steps, self.epochs = max(1, steps_per_epoch), epochs
        self.warmup, self.decay = warmup_steps, decay
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        step = self._epoch * self.steps + batch
        for opt, rate, start in zip(self.optimizers, self.base_rates, self.start_epochs):
            opt.learning_rate = rate * lr_factor(step, self.epochs * self.steps,
                                                 start * self.steps, self.warmup, self.decay)
