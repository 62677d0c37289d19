"""Phase-1 heads fitted to convergence on cached features (common/head_solve, head_train).

The linear head is a convex problem: the Keras head must compute exactly what
scikit-learn's logistic / ridge regression computes on the same standardised features, and
the L2 strength must be the one that scores best on validation.
"""
import numpy as np
import pytest

from transferkit.common.config import HeadConfig


def blobs(n, dim=20, classes=3, seed=0, spread=2.5):
    """Overlapping Gaussian classes (not separable: the L2 strength matters)."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).normal(size=(classes, dim))
    y = np.arange(n) % classes
    x = centres[y] + rng.normal(scale=spread, size=(n, dim))
    return (x * 7.0 + 3.0).astype(np.float32), y.astype(np.int32)  # unstandardised scale


def linear_head(dim, outputs, task="multiclass"):
    from transferkit.common.model.heads import adapt_head, build_head

    return build_head((dim,), HeadConfig(units=(), dropout=0.2, task=task), outputs), adapt_head


def test_solved_head_equals_sklearn_logistic_regression():
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from transferkit.common.train.head_solve import solve_linear_head

    x, y = blobs(600)
    xv, yv = blobs(300, seed=1)
    head, adapt = linear_head(20, 3)
    adapt(head, x)
    fit = solve_linear_head(head, "multiclass", x, y, xv, yv)
    scaler = StandardScaler().fit(x)
    reference = LogisticRegression(C=fit.chosen["C"], max_iter=5000, tol=1e-8).fit(
        scaler.transform(x), y)
    ours = head.predict(xv, verbose=0)
    theirs = reference.predict_proba(scaler.transform(xv))
    assert np.abs(ours - theirs).max() < 2e-3
    assert (ours.argmax(1) == theirs.argmax(1)).mean() >= 0.99


def test_the_chosen_strength_is_the_validation_best_and_regularises():
    from transferkit.common.train.head_solve import C_GRID, solve_linear_head

    x, y = blobs(150, dim=60, spread=3.0)  # few examples, many features: over-fits at big C
    xv, yv = blobs(600, dim=60, spread=3.0, seed=1)
    head, adapt = linear_head(60, 3)
    adapt(head, x)
    fit = solve_linear_head(head, "multiclass", x, y, xv, yv)
    best = max(r["accuracy"] for r in fit.grid)
    chosen = next(r for r in fit.grid if r["C"] == fit.chosen["C"])
    assert chosen["accuracy"] == best
    assert fit.chosen["C"] < C_GRID[-1]  # not the unregularised end of the path
    assert [r["C"] for r in fit.grid] == list(C_GRID[:len(fit.grid)])  # strong to weak
    # the solved head beats the majority class by a wide margin on 600 validation rows
    acc = (head.predict(xv, verbose=0).argmax(1) == yv).mean()
    assert acc >= 1 / 3 + 0.2


def test_binary_softmax_head_matches_sklearn_sigmoid():
    from transferkit.common.train.head_solve import solve_linear_head

    x, y = blobs(400, classes=2)
    xv, yv = blobs(200, classes=2, seed=1)
    head, adapt = linear_head(20, 2)
    adapt(head, x)
    solve_linear_head(head, "multiclass", x, y, xv, yv)
    probs = head.predict(xv, verbose=0)
    assert np.allclose(probs.sum(1), 1.0, atol=1e-5)
    assert (probs.argmax(1) == yv).mean() >= 0.75


def test_ridge_head_matches_sklearn_ridge():
    from sklearn.linear_model import Ridge
    from sklearn.preprocessing import StandardScaler

    from transferkit.common.train.head_solve import solve_linear_head

    rng = np.random.default_rng(0)
    w = rng.normal(size=10)
    x = rng.normal(size=(300, 10)).astype(np.float32) * 4
    y = (x @ w + rng.normal(scale=2.0, size=300)).astype(np.float32)
    xv = rng.normal(size=(200, 10)).astype(np.float32) * 4
    yv = (xv @ w + rng.normal(scale=2.0, size=200)).astype(np.float32)
    head, adapt = linear_head(10, 1, task="regression")
    adapt(head, x)
    fit = solve_linear_head(head, "regression", x, y, xv, yv)
    scaler = StandardScaler().fit(x)
    reference = Ridge(alpha=fit.chosen["alpha"]).fit(scaler.transform(x), y)
    ours = head.predict(xv, verbose=0)[:, 0]
    assert np.abs(ours - reference.predict(scaler.transform(xv))).max() < 1e-3
    mean_mse = float(((yv - y.mean()) ** 2).mean())  # predict-the-mean baseline
    assert float(((ours - yv) ** 2).mean()) < 0.2 * mean_mse


def test_multilabel_head_solves_each_label_and_a_constant_label():
    from transferkit.common.train.head_solve import solve_linear_head

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 8)).astype(np.float32)
    y = np.stack([x[:, 0] > 0, x[:, 1] + x[:, 2] > 0, np.zeros(400, bool)], 1).astype(np.float32)
    xv = rng.normal(size=(200, 8)).astype(np.float32)
    yv = np.stack([xv[:, 0] > 0, xv[:, 1] + xv[:, 2] > 0, np.zeros(200, bool)], 1).astype(
        np.float32)
    head, adapt = linear_head(8, 3, task="multilabel")
    adapt(head, x)
    solve_linear_head(head, "multilabel", x, y, xv, yv)
    probs = head.predict(xv, verbose=0)
    assert ((probs[:, :2] > 0.5) == (yv[:, :2] > 0.5)).mean() >= 0.9
    assert probs[:, 2].max() < 0.01  # never on in training: a bias-only, near-zero label


def test_refit_uses_train_and_validation():
    from transferkit.common.train.head_solve import solve_linear_head

    x, y = blobs(200)
    xv, yv = blobs(200, seed=1)
    head, adapt = linear_head(20, 3)
    adapt(head, x)
    plain = solve_linear_head(head, "multiclass", x, y, xv, yv)
    before = head.get_layer("predictions").get_weights()[0].copy()
    refit = solve_linear_head(head, "multiclass", x, y, xv, yv, refit=True)
    after = head.get_layer("predictions").get_weights()[0]
    assert refit.refit and not plain.refit and refit.chosen == plain.chosen
    assert not np.allclose(before, after)


def test_hidden_head_stops_early_and_chooses_dropout():
    from transferkit.common.train.head_train import DROPOUTS, train_hidden_head
    from transferkit.common.model.heads import adapt_head, build_head, loss_and_metrics
    from transferkit.common.train.optim import make_optimizer

    x, y = blobs(300, dim=30, spread=3.0)
    xv, yv = blobs(300, dim=30, spread=3.0, seed=1)
    head = build_head((30,), HeadConfig(units=(64,), dropout=0.1), 3)
    adapt_head(head, x)
    loss, metrics = loss_and_metrics("multiclass")
    fit, logs = train_hidden_head(head, "multiclass", x, y, xv, yv, loss=loss, metrics=metrics,
                                  make_optimizer=lambda: make_optimizer(1e-2), batch_size=32,
                                  max_epochs=300, dropout=0.1)
    assert {r["dropout"] for r in fit.grid} == {0.1, *DROPOUTS}
    assert fit.chosen["dropout"] in {0.1, *DROPOUTS}
    assert len(logs) < 300  # early stopping ended it, well before the cap
    val_losses = [r["val_loss"] for r in logs]
    assert fit.chosen["epochs"] == int(np.argmin(val_losses)) + 1
    acc = (head.predict(xv, verbose=0).argmax(1) == yv).mean()
    assert acc >= 1 / 3 + 0.2


def test_class_balance_and_balanced_weights():
    from transferkit.common.data.balance import class_balance

    targets = np.array([0] * 90 + [1] * 10)
    balance = class_balance(("a", "b"), targets)
    assert balance["counts"] == {"a": 90, "b": 10} and balance["skewed"]
    assert balance["weights"] == {"a": pytest.approx(100 / 180, abs=1e-4),
                                  "b": pytest.approx(5.0)}
    assert not class_balance(("a", "b"), np.array([0, 1, 0, 1]))["skewed"]


def test_balanced_class_weight_raises_minority_recall():
    from transferkit.common.train.head_solve import solve_linear_head

    rng = np.random.default_rng(0)

    def skewed(n, seed):
        r = np.random.default_rng(seed)
        y = (r.uniform(size=n) < 0.1).astype(np.int32)
        x = r.normal(size=(n, 5)).astype(np.float32) + y[:, None] * 1.0
        return x, y

    del rng
    x, y = skewed(2000, 0)
    xv, yv = skewed(1000, 1)
    recall = {}
    for weighting in ("", "balanced"):
        head, adapt = linear_head(5, 2)
        adapt(head, x)
        solve_linear_head(head, "multiclass", x, y, xv, yv, class_weight=weighting)
        pred = head.predict(xv, verbose=0).argmax(1)
        recall[weighting] = float((pred[yv == 1] == 1).mean())
    assert recall["balanced"] > recall[""] + 0.2


def test_bare_boolean_flag_means_true():
    import argparse

    from transferkit.common.cli.options import add_dataclass_args, overrides_from_args
    from transferkit.common.config import TrainConfig

    parser = argparse.ArgumentParser()
    add_dataclass_args(parser, TrainConfig, "train")
    args = parser.parse_args(["--refit", "--class-weight", "balanced"])
    assert overrides_from_args(args, "train") == {"refit": True, "class_weight": "balanced"}
    args = parser.parse_args(["--refit", "false"])
    assert overrides_from_args(args, "train") == {"refit": False}


def test_bad_head_fit_and_class_weight_are_named():
    from transferkit.common.config import TrainConfig

    with pytest.raises(ValueError, match="train.head_fit"):
        TrainConfig(head_fit="sgd")
    with pytest.raises(ValueError, match="train.class_weight"):
        TrainConfig(class_weight="balance")


def test_run_records_the_head_fit_and_class_balance(colour_run):
    metrics = colour_run.result.metrics
    assert metrics["head"]["solver"] == "lbfgs" and "C" in metrics["head"]["chosen"]
    assert metrics["head"]["refit"] is False
    assert set(metrics["class_balance"]["counts"]) == {"blue", "green", "red"}
    assert metrics["class_balance"]["skewed"] is False
