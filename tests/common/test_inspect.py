"""Data checks: label issues on out-of-fold probabilities, near-duplicates/leakage, balance."""
import numpy as np
import pytest

from transferkit.common.inspect.duplicates import near_duplicates, similar_pairs, unit_rows
from transferkit.common.inspect.labels import label_issues, out_of_fold_probabilities


def blobs(n_per_class=100, classes=4, dim=16, seed=0, spread=1.0):
    """Gaussian blobs: a learnable set where a flipped label disagrees with its features."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3.0, (classes, dim))
    y = np.repeat(np.arange(classes), n_per_class)
    return centres[y] + rng.normal(0, spread, (len(y), dim)), y


def flip(y, n, classes, seed=0):
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(y), n, replace=False)
    noisy = y.copy()
    noisy[idx] = (y[idx] + rng.integers(1, classes, n)) % classes
    return noisy, set(idx.tolist())


def test_the_ranking_puts_injected_flips_near_the_top():
    x, y = blobs()
    noisy, flipped = flip(y, 20, 4)  # 5% of 400
    found = label_issues(x, noisy, 4, seed=0)
    top = set(np.argsort(found.quality)[:20].tolist())
    assert len(top & flipped) >= 17  # precision@k (k = flips)
    flagged = set(found.ranked.tolist())
    assert len(flagged & flipped) >= 18  # recall at cleanlab's own cut
    assert len(flagged & flipped) >= 0.7 * len(flagged)  # precision at the cut
    assert set(found.ranked[:10].tolist()) <= flipped  # the likeliest ten are all flips
    assert found.flagged.sum() == len(found.ranked) and found.folds == 5


def test_probabilities_are_out_of_fold():
    # Pure noise: a model scored on its own training rows would be right on nearly all of
    # them (more dimensions than rows per fold); out of fold it is at chance.
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(120, 200)), np.repeat([0, 1], 60)
    p = out_of_fold_probabilities(x, y, 2, C=10.0)
    assert np.allclose(p.sum(axis=1), 1.0)
    assert (p.argmax(axis=1) == y).mean() < 0.7


def test_a_class_too_small_to_leave_out_is_a_clear_error():
    x, y = blobs(n_per_class=10, classes=3)
    y[0] = 3  # one example of a fourth class
    with pytest.raises(ValueError, match="at least 2 examples of every class"):
        label_issues(x, y, 4)


def test_folds_shrink_to_the_smallest_class():
    x, y = blobs(n_per_class=30, classes=3)
    keep = np.arange(63)  # class 2 keeps 3 examples: 3 folds, not 5
    found = label_issues(x[keep], y[keep], 3, C=0.1)
    assert found.folds == 3 and found.probabilities.shape == (63, 3)


def test_copies_across_splits_are_found_exact_and_perturbed():
    rng = np.random.default_rng(1)
    train = rng.normal(size=(300, 32))
    test = np.concatenate([train[:5], train[5:10] + rng.normal(0, 0.05, (5, 32)),
                           rng.normal(size=(40, 32))])
    validation = np.concatenate([rng.normal(size=(30, 32)), train[[42]]])
    found = near_duplicates({"train": train, "validation": validation, "test": test})
    leak = found[("train", "test")]
    assert leak.leakage and leak.total == 10
    assert sorted(zip(leak.i.tolist(), leak.j.tolist())) == [(k, k) for k in range(10)]
    assert (found[("train", "validation")].i.tolist(), found[("train", "validation")].j.tolist()) \
        == ([42], [30])
    assert found[("train", "train")].total == 0 and not found[("train", "train")].leakage
    assert found[("validation", "test")].total == 0


def test_pairs_inside_a_split_once_and_blockwise_equals_dense():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(50, 8))
    x[31], x[44] = x[3], x[17] * 2.0  # an exact copy and a rescaled one (cosine 1)
    unit = unit_rows(x, x.mean(axis=0))
    i, j, cos, total = similar_pairs(unit, threshold=0.99, block=7)
    assert total == 2 and sorted(zip(i.tolist(), j.tolist())) == [(3, 31), (17, 44)]
    dense = unit @ unit.T
    for threshold in (0.3, 0.6):
        i, j, cos, total = similar_pairs(unit, threshold=threshold, block=7)
        expected = {(a, b) for a, b in zip(*np.nonzero(np.triu(dense, 1) >= threshold))}
        assert set(zip(i.tolist(), j.tolist())) == expected and total == len(expected)
        assert np.all(np.diff(cos) <= 0)  # most similar first


def test_the_pair_list_is_capped_but_every_pair_counted():
    x = np.ones((40, 4)) + np.random.default_rng(0).normal(0, 1e-4, (40, 4))
    i, j, cos, total = similar_pairs(unit_rows(x, 0.0), threshold=0.9, block=8, max_pairs=5)
    assert total == 40 * 39 // 2 and len(i) == 5


def _splits(labels_by_split, dim=8, seed=0):
    from transferkit.common.data.domain import Examples
    from transferkit.common.data.splits import Splits

    rng = np.random.default_rng(seed)
    examples = {s: Examples(items=tuple(f"{s}/{i}.png" for i in range(len(labels))),
                            labels=tuple(labels)) for s, labels in labels_by_split.items()}
    features = {s: rng.normal(size=(len(e), dim)) for s, e in examples.items()}
    return Splits(train=examples["train"], validation=examples["validation"]), features


def test_balance_counts_warns_on_skew_and_gives_the_balanced_weights():
    from transferkit.common.data.balance import balanced_weights
    from transferkit.common.data.labels import LabelCodec
    from transferkit.common.inspect.checks import run_checks, summary_line

    train = ["a"] * 60 + ["b"] * 15
    splits, features = _splits({"train": train, "validation": ["a"] * 8 + ["b"] * 4})
    codec = LabelCodec.fit(train)
    checks = run_checks(features, splits, codec)
    balance = checks["balance"]["train"]
    assert balance["counts"] == {"a": 60, "b": 15} and balance["skewed"]
    weights = balanced_weights(codec.encode(train), 2)
    assert balance["weights"] == {"a": round(weights[0], 4), "b": round(weights[1], 4)}
    assert checks["balance"]["validation"]["counts"] == {"a": 8, "b": 4}
    assert "classes skewed in train" in summary_line(checks)


def test_multilabel_data_gets_duplicates_and_a_label_check_that_finds_flips():
    from transferkit.common.data.domain import Examples
    from transferkit.common.data.labels import LabelCodec
    from transferkit.common.data.splits import Splits
    from transferkit.common.inspect.checks import run_checks

    rng = np.random.default_rng(0)
    n = 400  # C = 0.01 is strong on a few hundred examples: fewer blur the flips
    on = rng.random((n, 2)) < 0.5  # label x follows feature 0, label y feature 1
    x = np.concatenate([np.where(on, 2.0, -2.0) + rng.normal(0, 0.5, (n, 2)),
                        rng.normal(size=(n, 6))], axis=1)
    flipped = rng.choice(n, 12, replace=False)
    given = on.copy()
    given[flipped, 0] = ~given[flipped, 0]  # label x wrong on 12 examples
    labels = [[name for name, m in zip("xy", row) if m] for row in given]
    train = Examples(items=tuple(f"train/{i}.png" for i in range(n)), labels=tuple(labels))
    val = Examples(items=("validation/0.png",), labels=(labels[2],))
    features = {"train": x, "validation": x[2:3]}  # a leaked copy of train/2
    checks = run_checks(features, Splits(train=train, validation=val),
                        LabelCodec.fit(labels, "multilabel"))
    found = checks["label_issues"]
    assert "multilabel_classification" in found["method"] and found["examples"] == n + 1
    top = {r["index"] for r in found["ranked"][:12] if r["split"] == "train"}
    assert len(top & set(flipped.tolist())) >= 10  # chance: 12 * 12 / 401 = 0.4
    row = next(r for r in found["ranked"] if r["index"] == flipped[0] and r["split"] == "train")
    assert row["given"] == "|".join(c for c, m in zip("xy", given[flipped[0]]) if m) or "(none)"
    assert row["p_given"] < 0.5 and "balance" not in checks
    leak = next(g for g in checks["duplicates"]["groups"] if g["b"] == "validation"
                and g["a"] == "train")
    assert leak["rows"][0]["a_item"] == "train/2.png"


def test_a_training_runs_checks_keep_to_their_budget_and_say_what_they_skipped(monkeypatch):
    from transferkit.common.data.labels import LabelCodec
    from transferkit.common.inspect import checks
    from transferkit.common.output.report.data_checks import render_checks

    train = ["a", "b"] * 20
    splits, features = _splits({"train": train, "validation": ["a", "b"] * 5})
    codec = LabelCodec.fit(train)
    whole = checks.run_checks(features, splits, codec, budget=True)  # 50 x 8: under budget
    assert "flagged" in whole["label_issues"] and "groups" in whole["duplicates"]
    monkeypatch.setattr(checks, "LABEL_BUDGET", 50 * 8 - 1)
    monkeypatch.setattr(checks, "PAIR_BUDGET", 49)
    cut = checks.run_checks(features, splits, codec, budget=True)
    assert "400 feature values, over a training run's budget of 399" in \
        cut["label_issues"]["skipped"] and "transferkit inspect" in cut["label_issues"]["skipped"]
    assert "50 examples, over a training run's budget of 49" in cut["duplicates"]["skipped"]
    assert cut["balance"]["train"]["counts"] == {"a": 20, "b": 20}  # balance is always cheap
    line = checks.summary_line(cut)
    assert "label issues not checked" in line and "near-duplicates not checked" in line
    assert "over a training run&#x27;s budget" in render_checks(cut, "text", None)  # escaped
    assert "flagged" in checks.run_checks(features, splits, codec)["label_issues"]  # inspect
