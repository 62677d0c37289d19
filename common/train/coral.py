"""CORAL: align target-domain features to the source's second-order statistics.

For backbones without BatchNorm (the text encoders), AdaBN has nothing to re-estimate.
CORAL (Sun, Feng & Saenko, "Return of Frustratingly Easy Domain Adaptation", 2016) matches
feature covariances instead. The paper recolours the *source* features and retrains the
classifier; here the trained head stays and the *target* features are mapped onto the
source statistics at inference: whiten with the target covariance, recolour with the
source's, ``f(x) = (x - mu_t) · Ct^-1/2 · Cs^1/2 + mu_s``. Both covariances get the paper's
ridge, ``+ shrinkage × mean variance × I`` (shrinkage 1 is the paper's ``+ I`` on
standardised features), so a few hundred target examples in 384 dimensions stay stable.

``f`` is affine and the head starts with an affine map (feature standardisation, then a
Dense layer), so ``f`` is folded into the head's first Dense kernel and bias: the adapted
model has exactly the run's architecture, reloads like any run and exports as one model.

Example:
    >>> A, c = coral_map(source_features, target_features)  # doctest: +SKIP
    >>> fold_into_head(head, A, c)  # doctest: +SKIP
"""
from __future__ import annotations

import numpy as np

from transferkit.common.keras import keras
from transferkit.common.model.heads import FEATURE_NORM

SHRINKAGE = 1.0


def _covariance(x: np.ndarray, shrinkage: float) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"CORAL needs [n >= 2, dim] features, got shape {x.shape}")
    mean = x.mean(axis=0)
    cov = np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])
    ridge = shrinkage * float(np.mean(np.diag(cov))) or shrinkage
    return mean, cov + ridge * np.eye(x.shape[1])


def _power(cov: np.ndarray, power: float) -> np.ndarray:
    """``cov ** power`` of a symmetric positive semi-definite matrix (eigenvalues floored)."""
    w, v = np.linalg.eigh(cov)
    w = np.maximum(w, 1e-12 * max(float(w.max()), 1e-300))
    return (v * w ** power) @ v.T


def coral_map(source, target, shrinkage: float = SHRINKAGE) -> tuple[np.ndarray, np.ndarray]:
    """``(A, c)`` with ``x @ A + c`` taking target features to the source's mean/covariance.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> A, c = coral_map(rng.normal(0, 1, (500, 3)), rng.normal(5, 2, (500, 3)), 0.0)
        >>> np.round((rng.normal(5, 2, (20000, 3)) @ A + c).std(axis=0), 1)
        array([1., 1., 1.])
    """
    mu_s, cs = _covariance(source, shrinkage)
    mu_t, ct = _covariance(target, shrinkage)
    if mu_s.shape != mu_t.shape:
        raise ValueError(f"CORAL: source features have {mu_s.size} dimensions, target "
                         f"features {mu_t.size}")
    a = _power(ct, -0.5) @ _power(cs, 0.5)
    return a, mu_s - mu_t @ a


def _first_dense(head: keras.Model):
    """The head's FeatureStandardization (or None) and its first Dense layer; refuse heads
    with anything else before that Dense layer (the fold would not be exact)."""
    norm = None
    for layer in head.layers:
        if isinstance(layer, keras.layers.InputLayer) or isinstance(layer, keras.layers.Dropout):
            continue
        if layer.name == FEATURE_NORM:
            norm = layer
        elif isinstance(layer, keras.layers.Dense):
            return norm, layer
        else:
            raise ValueError(f"CORAL folds into a head of [standardisation] + Dense layers; "
                             f"this head has {type(layer).__name__} {layer.name!r} first "
                             f"(pooled [batch, dim] features are needed)")
    raise ValueError("CORAL: the head has no Dense layer to fold the feature map into")


def fold_into_head(head: keras.Model, a: np.ndarray, c: np.ndarray) -> str:
    """Make ``head(x)`` compute what ``head(x @ a + c)`` did (in place); returns the name of
    the Dense layer that changed.

    With standardisation ``u = (x - m) * s`` before the Dense layer ``u @ W + b``:
    ``W' = diag(1/s) · a · diag(s) · W`` and ``b' = ((m·a + c - m) * s) · W + b``.
    """
    norm, dense = _first_dense(head)
    kernel, bias = (np.asarray(w, np.float64) for w in dense.get_weights()[:2]) \
        if dense.use_bias else (np.asarray(dense.get_weights()[0], np.float64), None)
    if norm is None:
        new_kernel, shift = a @ kernel, c @ kernel
    else:
        m = np.asarray(norm.mean.numpy(), np.float64)
        s = np.asarray(norm.inv_std.numpy(), np.float64)
        new_kernel = ((a * s[None, :]) / s[:, None]) @ kernel
        shift = ((m @ a + c - m) * s) @ kernel
    if bias is None:
        if np.any(np.abs(shift) > 0):
            raise ValueError(f"CORAL: {dense.name} has no bias to take the feature shift")
        dense.set_weights([new_kernel.astype(np.float32)])
    else:
        dense.set_weights([new_kernel.astype(np.float32), (bias + shift).astype(np.float32)])
    return dense.name


def head_of(model: keras.Model) -> keras.Model:
    """The head sub-model of a joined run model (``join(backbone, head)``)."""
    try:
        return model.get_layer("head")
    except ValueError:
        raise ValueError("CORAL: the run's model has no 'head' sub-model") from None


def feature_model(model: keras.Model) -> keras.Model:
    """Raw input -> the backbone features the head reads, sharing the run model's layers."""
    return keras.Model(model.inputs, head_of(model).get_input_at(0), name="features")
