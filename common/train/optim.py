"""Discriminative learning rates: the backbone learns slower than the head.

tf_keras has no per-variable learning rate, and scaling gradients does nothing under Adam
(it is scale invariant), so :class:`TwoRateModel` applies two optimizers in ``train_step``.
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


def make_optimizer(learning_rate: float):
    return keras.optimizers.Adam(learning_rate=learning_rate)
