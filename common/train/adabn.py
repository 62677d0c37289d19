"""AdaBN: re-estimate a model's BatchNorm statistics on unlabelled target-domain data.

Li et al., "Revisiting Batch Normalization For Practical Domain Adaptation" (2016): every
weight stays as trained; only each BatchNorm layer's ``moving_mean``/``moving_variance``
change. One pass over the target batches: every BN layer normalises its input with the
*batch's own* moments (as in training mode, so deeper layers see already-adapted inputs)
while its input's sum and sum of squares are pooled over **all** target examples and
positions (exact cumulative statistics, as AdaBN prescribes, not an exponential average of
the last batches); the pooled moments become the new moving statistics.

Reference statistics. Classic AdaBN (``source_batches=None``) assumes the BN statistics
were those of the training domain. A frozen pretrained backbone breaks that: its BN
statistics are ImageNet's, and the head was trained on features normalised *with them*, so
replacing them by the (even unshifted) training data's own moves every feature the head
knows. With ``source_batches`` (the run's training inputs) each layer's input moments are
first pooled on the source in inference mode, and the target is mapped onto *them*:
``x -> (x - mu_t) / sd_t * sd_s + mu_s``, then the layer's own normalisation. Folded into
the moving statistics: ``mean' = mu_t - (mu_s - mean) * sd_t / sd_s`` and
``sqrt(var' + eps) = sd_t * sqrt(var + eps) / sd_s``. A target drawn from the source leaves
the model as it was; with the backbone's own statistics as the reference it is classic
AdaBN (``mean' = mu_t``, ``var' = var_t``).

Example:
    >>> changes = adapt_batchnorm(model, target_batches, source_batches=train_batches)  # doctest: +SKIP
    >>> changes[0].name, changes[0].mean_shift  # doctest: +SKIP
    ('conv1_bn', 0.41)
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from tqdm.auto import tqdm

from transferkit.common.keras import tf


@dataclass(frozen=True)
class BatchNormChange:
    """How one BatchNorm layer's statistics moved.

    Attributes:
        name: The layer's name.
        channels: Number of normalised channels.
        mean_shift: Mean over channels of ``|new mean - old mean| / old std``.
        std_ratio: Geometric mean over channels of ``new std / old std``.
        max_mean_shift: The largest channel's ``|new mean - old mean| / old std``.
    """

    name: str
    channels: int
    mean_shift: float
    std_ratio: float
    max_mean_shift: float

    def to_dict(self) -> dict:
        return asdict(self)


def batchnorm_layers(model) -> list:
    """Every layer of ``model`` (nested models included) with moving mean and variance.

    Example:
        >>> [layer.name for layer in batchnorm_layers(model)][:2]  # doctest: +SKIP
        ['conv1_bn', 'conv_dw_1_bn']
    """
    seen, out = set(), []
    for module in [model, *model.submodules]:
        if hasattr(module, "moving_mean") and hasattr(module, "moving_variance") \
                and id(module) not in seen:
            seen.add(id(module))
            out.append(module)
    return out


def adapt_batchnorm(model, batches, *, source_batches=None,
                    desc: str = "AdaBN target statistics") -> list:
    """Re-estimate every BN layer's moving statistics on the target ``batches`` (in place).

    Args:
        model: A tf_keras model holding BatchNormalization layers (channels last).
        batches: An iterable of input batches (or ``(inputs, ...)`` tuples), e.g. a batched
            ``tf.data.Dataset`` of unlabelled target inputs; any labels are ignored.
        source_batches: The source domain's inputs (the run's training data): map the target
            onto their statistics (see the module docstring); None: classic AdaBN.
    Returns:
        One :class:`BatchNormChange` per BN layer, in the model's order.
    Raises:
        ValueError: the model has no BatchNorm layer, or ``batches`` is empty.
    """
    layers = batchnorm_layers(model)
    if not layers:
        raise ValueError("AdaBN needs BatchNormalization layers and this model has none; "
                         "use CORAL (transferkit adapt --method coral) instead")
    old = [(layer.moving_mean.numpy().astype(np.float64),
            layer.moving_variance.numpy().astype(np.float64)) for layer in layers]
    reference = [(mean, np.sqrt(var + layer.epsilon)) for layer, (mean, var) in zip(layers, old)]
    if source_batches is not None:
        moments = _pooled(model, layers, source_batches, None, "AdaBN source statistics")
        reference = [(mu, np.sqrt(var + layer.epsilon))
                     for layer, (mu, var) in zip(layers, moments)]
    target = _pooled(model, layers, batches, reference, desc)
    changes = []
    for layer, (mean, var), (mu_r, sd_r), (mu_t, var_t) in zip(layers, old, reference, target):
        sd_t = np.sqrt(var_t + layer.epsilon)
        new_mean = mu_t - (mu_r - mean) * sd_t / sd_r
        new_var = np.maximum((sd_t * np.sqrt(var + layer.epsilon) / sd_r) ** 2 - layer.epsilon,
                             0.0)
        layer.moving_mean.assign(new_mean.astype(layer.moving_mean.dtype.as_numpy_dtype))
        layer.moving_variance.assign(new_var.astype(layer.moving_variance.dtype.as_numpy_dtype))
        changes.append(_change(layer.name, mean, var, new_mean, new_var, layer.epsilon))
    return changes


def _pooled(model, layers, batches, reference, desc: str) -> list:
    """``[(mean, variance)]`` of every BN layer's input over all ``batches`` (float64).

    ``reference`` None: the layers run as trained (inference); else each batch is matched
    to ``reference[i] = (mean, sd)`` before the layer's own normalisation (training-like).
    """
    acc = [(tf.Variable(tf.zeros(layer.moving_mean.shape, tf.float64)),
            tf.Variable(tf.zeros(layer.moving_mean.shape, tf.float64)),
            tf.Variable(tf.zeros((), tf.float64))) for layer in layers]
    originals = [layer.call for layer in layers]
    try:
        for i, layer in enumerate(layers):
            layer.call = _hooked(layer, originals[i], acc[i],
                                 None if reference is None else reference[i])
        step = tf.function(lambda x: model(x, training=False))
        for batch in tqdm(batches, desc=desc, unit="batch", leave=False, mininterval=1.0):
            step(batch[0] if isinstance(batch, tuple) else batch)
    finally:
        for layer in layers:
            layer.__dict__.pop("call", None)  # back to the class's own call
    count = float(acc[0][2].numpy())
    if count == 0:
        raise ValueError("AdaBN: the data holds no examples")
    out = []
    for total, squares, n in acc:
        mean = total.numpy() / n.numpy()
        out.append((mean, np.maximum(squares.numpy() / n.numpy() - mean ** 2, 0.0)))
    return out


def _hooked(layer, original, acc, reference):
    """A BN ``call`` that pools its input's moments into ``acc`` and, given a ``reference``
    ``(mean, sd)``, matches the batch to it before the layer's inference normalisation."""
    axis = layer.axis if isinstance(layer.axis, int) else layer.axis[-1]
    total, squares, count = acc
    ref = None if reference is None else tuple(tf.constant(r, tf.float32) for r in reference)

    def call(inputs, training=None, **kwargs):
        if axis not in (-1, len(inputs.shape) - 1):
            raise ValueError(f"AdaBN supports channels-last BatchNormalization; {layer.name} "
                             f"normalises axis {layer.axis}")
        x = tf.cast(inputs, tf.float32)
        axes = list(range(len(inputs.shape) - 1))
        mean, var = tf.nn.moments(x, axes)  # the batch's, in float32; pooled in float64
        n = tf.cast(tf.reduce_prod(tf.shape(x)[:-1]), tf.float64)
        mean64 = tf.cast(mean, tf.float64)
        total.assign_add(n * mean64)
        squares.assign_add(n * (tf.cast(var, tf.float64) + mean64 * mean64))
        count.assign_add(n)
        if ref is not None:
            x = (x - mean) * tf.math.rsqrt(var + layer.epsilon) * ref[1] + ref[0]
            inputs = tf.cast(x, inputs.dtype)
        return original(inputs, training=False, **kwargs)

    return call


def _change(name, old_mean, old_var, mean, var, epsilon: float) -> BatchNormChange:
    old_std = np.sqrt(np.asarray(old_var, np.float64) + epsilon)
    shift = np.abs(mean - old_mean) / old_std
    ratio = np.sqrt(var + epsilon) / old_std
    return BatchNormChange(name=name, channels=int(mean.size), mean_shift=float(shift.mean()),
                           std_ratio=float(np.exp(np.log(ratio).mean())),
                           max_mean_shift=float(shift.max()))


def summarize(changes: list) -> dict:
    """The headline of a list of :class:`BatchNormChange` for ``adaptation.json``."""
    if not changes:
        return {"layers": 0}
    shifts = [c.mean_shift for c in changes]
    return {"layers": len(changes), "channels": int(sum(c.channels for c in changes)),
            "mean_shift_mean": float(np.mean(shifts)),
            "largest_shift_layer": changes[int(np.argmax(shifts))].name,
            "std_ratio_median": float(np.median([c.std_ratio for c in changes]))}
