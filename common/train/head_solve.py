"""Linear heads solved to convergence on cached features, L2 strength chosen on validation.

A linear head on frozen features is a convex problem: logistic regression (multiclass,
multi-label) or ridge regression. Fitting it with a few epochs of Adam leaves it under- or
over-fitted depending on the data; scikit-learn's full-batch L-BFGS solves it exactly, and
a warm-started path over the regularisation strength, scored on the validation split, picks
how much to regularise. The solution is copied into the head's ``predictions`` Dense layer,
so the Keras head (and the exported model) computes exactly the fitted model.

Example:
    >>> fit = solve_linear_head(head, "multiclass", train, y_train, val, y_val)  # doctest: +SKIP
    >>> fit.chosen  # doctest: +SKIP
    {'C': 0.03}
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from transferkit.common.train.head_score import head_inputs, score

# Inverse L2 strengths, weakest regularisation last: a warm-started path from strong to
# weak regularisation is cheap (each fit starts at the last solution).
C_GRID = tuple(float(c) for c in np.logspace(-4, 2, 13))
ALPHA_GRID = tuple(float(a) for a in np.logspace(-3, 4, 15))
PATIENCE = 3  # grid points without a better validation score before the path stops
MAX_ITER = 2000
TOL = 1e-4
LOSS_TOLERANCE = 0.01  # validation losses within 1% + 0.01 of the best are a tie


@dataclass(frozen=True)
class HeadFit:
    """What fitting the head did, recorded in ``metrics.json`` under ``"head"``.

    Attributes:
        solver: ``"lbfgs"`` (logistic), ``"ridge"``, or ``"adam"`` (gradient head).
        chosen: The hyperparameters that won on validation, e.g. ``{"C": 0.03}``.
        grid: One row per candidate: its hyperparameters and validation scores.
        refit: Whether the chosen head was refitted on train + validation.
        class_weight: ``"balanced"`` or ``""``.
    """

    solver: str
    chosen: dict
    grid: tuple
    refit: bool = False
    class_weight: str = ""

    def to_dict(self) -> dict:
        return {"solver": self.solver, "chosen": self.chosen, "grid": list(self.grid),
                "refit": self.refit, "class_weight": self.class_weight}


def solve_linear_head(head, task: str, x_train, y_train, x_val, y_val, *,
                      class_weight: str = "", refit: bool = False) -> HeadFit:
    """Fit ``head``'s output layer to convergence; choose the L2 strength on validation.

    Args:
        head: A head from :func:`~transferkit.common.model.heads.build_head` with no hidden layers.
        task: ``"multiclass"``, ``"multilabel"`` or ``"regression"``.
        x_train, y_train, x_val, y_val: Cached features and encoded targets.
        class_weight: ``"balanced"`` weights classes inversely to their frequency.
        refit: Refit the chosen strength on train + validation.
    """
    xt, xv = head_inputs(head, x_train), head_inputs(head, x_val)
    fit_one = _ridge if task == "regression" else _logistic
    name, grid = ("alpha", ALPHA_GRID) if task == "regression" else ("C", C_GRID)
    rows, best_score, stale, state, fits = [], None, 0, None, {}
    for value in grid:
        state = fit_one(xt, y_train, value, class_weight, state)
        kernel, bias = state.kernel_bias()
        val_score = score(task, y_val, _outputs(task, xv, kernel, bias))
        rows.append({name: value, **val_score})
        fits[value] = (kernel, bias)
        if best_score is None or _key(val_score) > _key(best_score):
            best_score, stale = val_score, 0
        else:
            stale += 1
            if stale >= PATIENCE:
                break
    value, kernel, bias = _simplest(rows, name, best_score, fits)
    if refit:
        both = fit_one(np.concatenate([xt, xv]), np.concatenate([y_train, y_val]), value,
                       class_weight, None)
        kernel, bias = both.kernel_bias()
    _set_output(head, task, kernel, bias)
    return HeadFit("ridge" if task == "regression" else "lbfgs", {name: value}, tuple(rows),
                   refit, class_weight)


def _simplest(rows, name, best, fits):
    """The most regularised candidate that ties the best on validation.

    A tie is the best accuracy (where there is one) and a loss within :data:`LOSS_TOLERANCE`
    of the best loss: on separable data the validation loss keeps creeping down as the
    penalty vanishes while the weights, and the outputs' over-confidence, grow without bound.
    """
    for row in sorted(rows, key=lambda r: r[name], reverse=name == "alpha"):
        if row.get("accuracy", 0.0) >= best.get("accuracy", 0.0) and \
                row["loss"] <= best["loss"] * (1 + LOSS_TOLERANCE) + LOSS_TOLERANCE:
            return (row[name], *fits[row[name]])
    raise AssertionError("the best candidate ties itself")


def _key(val_score: dict) -> tuple:
    """Higher is better: accuracy first where there is one, then lower loss."""
    return (val_score.get("accuracy", 0.0), -val_score["loss"])


class _Logistic:
    """One multinomial model (multiclass) or one binary model per label (multi-label)."""

    def __init__(self, models, columns, n_outputs, constant):
        self.models, self.columns, self.n_outputs, self.constant = models, columns, \
            n_outputs, constant

    def kernel_bias(self):
        dim = self.models[0].coef_.shape[1] if self.models else None
        if self.columns is None:  # multiclass: one multinomial model
            m = self.models[0]
            if m.coef_.shape[0] == 1:  # binary: softmax over [-z/2, z/2] == sigmoid(z)
                return (np.concatenate([-m.coef_, m.coef_]).T / 2,
                        np.concatenate([-m.intercept_, m.intercept_]) / 2)
            return m.coef_.T.copy(), m.intercept_.copy()
        kernel = np.zeros((dim or self.constant["dim"], self.n_outputs))
        bias = np.zeros(self.n_outputs)
        for col, m in zip(self.columns, self.models):
            kernel[:, col], bias[col] = m.coef_[0], m.intercept_[0]
        for col, logit in self.constant["bias"].items():
            bias[col] = logit
        return kernel, bias


def _logistic(x, y, C, class_weight, state):
    from sklearn.linear_model import LogisticRegression

    def model(prev):
        if prev is not None:
            prev.set_params(C=C)
            return prev
        return LogisticRegression(C=C, max_iter=MAX_ITER, warm_start=True, tol=TOL,
                                  class_weight=class_weight or None)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at MAX_ITER on huge C
        if y.ndim == 1:
            m = model(state.models[0] if state else None)
            m.fit(x, y)
            return _Logistic([m], None, None, None)
        columns, models, constant = [], [], {"dim": x.shape[1], "bias": {}}
        previous = dict(zip(state.columns, state.models)) if state else {}
        for col in range(y.shape[1]):
            frac = float(y[:, col].mean())
            if frac in (0.0, 1.0):  # a label never (or always) on in training
                p = min(max(frac, 1e-4), 1 - 1e-4)
                constant["bias"][col] = float(np.log(p / (1 - p)))
                continue
            m = model(previous.get(col))
            m.fit(x, y[:, col])
            columns.append(col)
            models.append(m)
        return _Logistic(models, columns, y.shape[1], constant)


class _Ridge:
    def __init__(self, model):
        self.model = model

    def kernel_bias(self):
        return self.model.coef_.reshape(-1, 1), np.atleast_1d(self.model.intercept_)


def _ridge(x, y, alpha, class_weight, state):
    from sklearn.linear_model import Ridge

    del class_weight, state  # no classes; ridge has a closed form, nothing to warm-start
    return _Ridge(Ridge(alpha=alpha).fit(x, y.reshape(len(y))))


def _outputs(task, x, kernel, bias):
    z = x @ kernel + bias
    if task == "multiclass":
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)
    if task == "multilabel":
        return 1.0 / (1.0 + np.exp(-z))
    return z


def _set_output(head, task, kernel, bias) -> None:
    layer = head.get_layer("predictions")
    k, b = layer.get_weights()
    if k.shape != kernel.shape:
        raise ValueError(f"solved kernel {kernel.shape} does not fit the head's {k.shape}")
    layer.set_weights([kernel.astype(k.dtype), np.asarray(bias, b.dtype).reshape(b.shape)])
