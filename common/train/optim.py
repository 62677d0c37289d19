"""Discriminative learning rates: each block group of the backbone learns at its own rate.

tf_keras has no per-variable learning rate, and scaling gradients does nothing under Adam
(it is scale invariant), so :class:`TwoRateModel` applies two optimizers in ``train_step``:
the compiled one to the head, and a backbone optimizer to the backbone. That backbone
optimizer may be a :class:`GroupOptimizer`, one optimizer per block group, which gives
each group its own update size (fastai's ``slice(lo, hi)``).
"""
from __future__ import annotations

from transferkit.common.keras import keras, tf


class TwoRateModel(keras.Model):
    """A functional model whose head and backbone variables use separate optimizers.

    Call :meth:`set_backbone_optimizer` with the backbone's variables before ``fit``; with
    none set it trains like a plain ``keras.Model``.
    """

    _backbone_optimizer = None
    _backbone_var_ids: frozenset = frozenset()

    def set_backbone_optimizer(self, optimizer, backbone_variables) -> None:
        self._backbone_optimizer = optimizer
        self._backbone_var_ids = frozenset(id(v) for v in backbone_variables)

    def train_step(self, data):
        if self._backbone_optimizer is None:
            return super().train_step(data)
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x, y, y_pred, sample_weight)
        variables = self.trainable_variables
        grads = tape.gradient(loss, variables)
        head, body = [], []
        for g, v in zip(grads, variables):
            if g is not None:
                (body if id(v) in self._backbone_var_ids else head).append((g, v))
        if head:
            self.optimizer.apply_gradients(head)
        if body:
            self._backbone_optimizer.apply_gradients(body)
        return self.compute_metrics(x, y, y_pred, sample_weight)


class GroupOptimizer(tf.Module):
    """Several optimizers behind one ``build``/``apply_gradients``: variables go to the
    optimizer of their group (a variable of no group goes to the last, the top one).

    Each group's optimizer is built the first time its group trains, over that group's
    variables, so groups can be unfrozen one after another (a tf_keras optimizer takes no
    new variables once built). It checkpoints as one object with ``tf.train.Checkpoint``.

    Example:
        >>> opt = GroupOptimizer([make_optimizer(1e-5), make_optimizer(1e-4)],
        ...                      [low.weights, high.weights])  # doctest: +SKIP
        >>> model.set_backbone_optimizer(opt, low.weights + high.weights)  # doctest: +SKIP
    """

    def __init__(self, optimizers, variable_groups):
        super().__init__(name="group_optimizer")
        self.optimizers = list(optimizers)
        index = {id(v): i for i, group in enumerate(variable_groups) for v in group}
        self._index = lambda v: index.get(id(v), len(self.optimizers) - 1)

    def _split(self, items, key=lambda item: item) -> list[list]:
        parts = [[] for _ in self.optimizers]
        for item in items:
            parts[self._index(key(item))].append(item)
        return parts

    def build(self, var_list) -> None:
        for opt, part in zip(self.optimizers, self._split(var_list)):
            if part:
                opt.build(part)

    def apply_gradients(self, grads_and_vars) -> None:
        for opt, part in zip(self.optimizers, self._split(grads_and_vars, lambda gv: gv[1])):
            if part:
                opt.apply_gradients(part)

    @property
    def learning_rates(self) -> list[float]:
        return [float(keras.backend.get_value(opt.learning_rate)) for opt in self.optimizers]


def make_optimizer(learning_rate: float, weight_decay: float = 0.0):
    """Adam, or AdamW (decoupled weight decay) when ``weight_decay`` is above 0."""
    if weight_decay > 0:
        return keras.optimizers.AdamW(learning_rate=learning_rate, weight_decay=weight_decay)
    return keras.optimizers.Adam(learning_rate=learning_rate)


def group_learning_rates(head_lr: float, top_multiplier: float, decay: float,
                         n_groups: int) -> list[float]:
    """Learning rates of ``n_groups`` block groups, bottom to top: the top group gets
    ``head_lr × top_multiplier`` and each group below ``decay`` times the one above it.

    Example:
        >>> group_learning_rates(1e-3, 1.0, 0.5, 3)
        [0.00025, 0.0005, 0.001]
    """
    return [head_lr * top_multiplier * decay ** (n_groups - 1 - i) for i in range(n_groups)]
