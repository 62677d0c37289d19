"""All data checks on a run's cached features, as one JSON-ready dict.

``run_checks`` is what ``transferkit inspect`` prints and writes to ``inspect.json``, and what
every training run writes to ``data_checks.json`` (from the features phase 1 cached anyway).

Example:
    >>> checks = run_checks(features, splits, codec)  # doctest: +SKIP
    >>> checks["label_issues"]["flagged"], checks["duplicates"]["leaked_items"]  # doctest: +SKIP
    (97, 50)
"""
from __future__ import annotations

import json
import sys

import numpy as np

from transferkit.common.data.balance import class_balance
from transferkit.common.inspect.duplicates import THRESHOLD, near_duplicates
from transferkit.common.inspect.labels import FOLDS, label_issues, multilabel_label_issues

SPLITS = ("train", "validation", "test")
LIMIT = 1000  # rows kept per list in the JSON (all are counted)
# What a training run's own checks may cost (transferkit inspect has no budget): the label
# check fits TRAINING_FOLDS logistic regressions on every labelled example (n x d feature
# values), the duplicate check compares all n^2 pairs. Over budget, the part is skipped and
# says so. make demo's Fashion-MNIST run (4,000 x 1,024) paid 2.96 s for all its checks.
LABEL_BUDGET = 8_000_000  # n x d values: 8,000 x 1,024 features
PAIR_BUDGET = 30_000  # examples
# A training run's label check cross-fits 3 folds, not inspect's 5: half the time (2.5 s
# against 4.7 s on 3,070 x 1,024), precision@k 0.792 against 0.803 and the same recall at
# cleanlab's cut (0.853) on Fashion-MNIST with 5% of labels flipped (benchmarks/inspect_noise.py).
TRAINING_FOLDS = 3
MAX_ITEM = 300  # characters of a text item kept in the JSON


def _log(msg: str) -> None:
    print(f"[transferkit] {msg}", file=sys.stderr, flush=True)


def run_checks(features: dict, splits, codec, *, seed: int = 0, folds: int = FOLDS,
               threshold: float = THRESHOLD, limit: int = LIMIT, budget: bool = False) -> dict:
    """Class balance, likely label issues and near-duplicates / leakage.

    Args:
        features: Split name -> ``[n, d]`` cached features, rows in the split's item order.
        splits: The :class:`~transferkit.common.data.splits.Splits` they came from.
        codec: The run's :class:`~transferkit.common.data.labels.LabelCodec`.
        seed: Seed of the cross-fitting folds.
        folds: Cross-fitting folds of the label check.
        threshold: Cosine at or above which two items are near-duplicates.
        limit: Rows kept per list (flagged labels, pairs); all are counted.
        budget: Skip the label check over :data:`LABEL_BUDGET` feature values and the
            duplicate check over :data:`PAIR_BUDGET` examples (a training run's checks).
    """
    names = [s for s in SPLITS if s in features and getattr(splits, s) is not None
             and len(getattr(splits, s))]
    out = {"task": codec.task, "counts": {s: len(getattr(splits, s)) for s in names}}
    n = sum(out["counts"].values())
    values = sum(int(np.prod(np.shape(features[s]))) for s in names)
    if codec.task == "multiclass":
        out["balance"] = {s: class_balance(codec.names, codec.encode(getattr(splits, s).labels))
                          for s in names}
    if codec.task not in ("multiclass", "multilabel"):
        out["label_issues"] = {"skipped": f"label issues are checked for multiclass and "
                                          f"multi-label data, not {codec.task}"}
    elif budget and values > LABEL_BUDGET:
        out["label_issues"] = {"skipped": _over(f"{values:,} feature values", LABEL_BUDGET)}
    else:
        out["label_issues"] = _label_section(features, splits, codec, names, seed, folds, limit)
    if budget and n > PAIR_BUDGET:
        out["duplicates"] = {"skipped": _over(f"{n:,} examples", PAIR_BUDGET), "groups": []}
    else:
        out["duplicates"] = _duplicate_section({s: features[s] for s in names}, splits,
                                               codec, threshold, limit)
    return out


def _over(what: str, budget: int) -> str:
    return (f"{what}, over a training run's budget of {budget:,}: transferkit inspect "
            f"--data ... --backbone ... runs it on the same features")


def _label_section(features, splits, codec, names, seed, folds, limit) -> dict:
    where = [(s, i) for s in names for i in range(len(getattr(splits, s)))]
    x = np.concatenate([np.asarray(features[s], np.float32).reshape(len(features[s]), -1)
                        for s in names])
    y = np.concatenate([codec.encode(getattr(splits, s).labels) for s in names])
    multi = codec.task == "multilabel"
    try:
        found = (multilabel_label_issues(x, y, folds=folds, seed=seed) if multi else
                 label_issues(x, y.astype(int), codec.num_outputs, folds=folds, seed=seed))
    except ValueError as exc:
        return {"skipped": str(exc)}
    rows = []
    for k in found.ranked[:limit]:
        split, i = where[k]
        rows.append({"split": split, "index": i, "item": _item(getattr(splits, split).items[i]),
                     **_judged(codec, y[k], found.probabilities[k]),
                     "quality": round(float(found.quality[k]), 4)})
    by_split = {s: int(sum(1 for k in found.ranked if where[k][0] == s)) for s in names}
    method = ("cleanlab.multilabel_classification.filter.find_label_issues on out-of-fold "
              "probabilities of one logistic regression per label" if multi else
              "cleanlab.filter.find_label_issues (prune_by_noise_rate) on out-of-fold "
              "probabilities of a logistic regression")
    return {"method": method + " on standardised features, ranked by self-confidence",
            "examples": len(y), "folds": found.folds, "C": found.C,
            "oof_accuracy": round(found.accuracy, 4), "flagged": len(found.ranked),
            "flagged_fraction": round(len(found.ranked) / max(1, len(y)), 4),
            "by_split": by_split, "ranked": rows}


def _judged(codec, given, p) -> dict:
    """Given and suggested label(s) and the out-of-fold probability of the given one (for
    multi-label data: of the whole given set, labels independent)."""
    if codec.task != "multilabel":
        return {"given": codec.names[int(given)], "suggested": codec.names[int(p.argmax())],
                "p_given": round(float(p[int(given)]), 4)}
    on = np.asarray(given) > 0.5

    def names(mask):
        return codec.separator.join(n for n, m in zip(codec.names, mask) if m) or "(none)"

    return {"given": names(on), "suggested": names(p >= 0.5),
            "p_given": round(float(np.prod(np.where(on, p, 1 - p))), 4)}


def _duplicate_section(features, splits, codec, threshold, limit) -> dict:
    found = near_duplicates(features, threshold=threshold, max_pairs=limit)
    groups, leaked = [], {}
    for (a, b), pairs in found.items():
        ea, eb = getattr(splits, a), getattr(splits, b)
        rows = [{"a_index": int(i), "b_index": int(j), "a_item": _item(ea.items[i]),
                 "b_item": _item(eb.items[j]), "a_label": _label(codec, ea.labels[i]),
                 "b_label": _label(codec, eb.labels[j]), "cosine": round(float(c), 4)}
                for i, j, c in zip(pairs.i, pairs.j, pairs.cosine)]
        if pairs.leakage and a == "train":
            leaked[b] = len({int(j) for j in pairs.j})
        groups.append({"a": a, "b": b, "leakage": pairs.leakage, "pairs": pairs.total,
                       "rows": rows})
    groups.sort(key=lambda g: (not g["leakage"], -g["pairs"]))  # the worse finding first
    return {"threshold": threshold, "metric": "cosine of centred cached features",
            "leaked_items": leaked, "groups": groups}


def _item(item) -> str:
    text = str(item)
    return text if len(text) <= MAX_ITEM else text[:MAX_ITEM - 1] + "…"


def _label(codec, label) -> str:
    if codec.task == "multilabel" and isinstance(label, (list, tuple)):
        return codec.separator.join(str(x) for x in label)
    return str(label)


def write_data_checks(ctx, features: dict | None) -> None:
    """``data_checks.json`` in the run directory from phase 1's cached features.

    Never raises: a failed check is logged and the run goes on (the checks are advice).
    """
    from transferkit.common.io import atomic_write_text

    path = ctx.run_dir / "data_checks.json"
    try:
        if features is None:
            checks = {"skipped": "no cached features (augmentation on or embedding_cache=off); "
                                 "run transferkit inspect"}
        else:
            checks = run_checks(features, ctx.splits, ctx.codec, seed=ctx.config.train.seed,
                                folds=TRAINING_FOLDS, budget=True)
            _log(f"data checks: {summary_line(checks)} (data_checks.json)")
        atomic_write_text(path, json.dumps(checks, indent=1) + "\n")
    except Exception as exc:  # noqa: BLE001 - advice must never cost the run
        path.unlink(missing_ok=True)
        _log(f"data checks not written ({type(exc).__name__}: {exc}); "
             f"run transferkit inspect for them")


def summary_line(checks: dict) -> str:
    """One line: flagged labels, near-duplicate pairs inside splits, leaked items."""
    labels = checks.get("label_issues", {})
    dup = checks.get("duplicates", {})
    inside = sum(g["pairs"] for g in dup.get("groups", []) if not g["leakage"])
    leaked = sum(dup.get("leaked_items", {}).values())
    parts = [f"{labels['flagged']} likely label issue(s) of {labels['examples']}"
             if "flagged" in labels else "label issues not checked"]
    parts += (["near-duplicates not checked"] if "skipped" in dup else
              [f"{inside} near-duplicate pair(s) inside splits",
               f"{leaked} held-out item(s) near-duplicating training items"])
    skewed = [s for s, b in checks.get("balance", {}).items() if b.get("skewed")]
    if skewed:
        parts.append(f"classes skewed in {', '.join(skewed)}")
    return "; ".join(parts)
