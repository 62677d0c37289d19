"""Benchmark 2: the default phase-1 head against tuned logistic regression, per domain.

On each domain's real data and pretrained backbone, ``train_run`` with the default head and
training settings on fixed splits (only data, backbone and the disk embedding cache are
set; the cache mode decides where the features live, not how the head is fitted, and it
writes them to the run directory so they can be read back) is compared, on the very same
cached features and splits, with scikit-learn's ``StandardScaler`` + ``LogisticRegression``
whose C is tuned on the same validation split; and with the majority class of the training
labels. In text also with what a user would try first: TF-IDF (1-2-grams) + logistic
regression, C tuned on validation.

- vision: Fashion-MNIST, 2,000 train (200 per class; 10% of it validation) / 1,000 test
  (100 per class), frozen ImageNet MobileNetV1 at 128 px;
- text: 3,000 tweets (stratified), 1,000 test and 2,000 train of which 200 validation,
  frozen MiniLM-L6;
- speech: espeak-ng digits, 80 voices split by voice (15% validation, 25% test voices),
  frozen keyword-spotting MobileNetV2.

Goal 2b: the ``text-sentiment`` recipe with its defaults against TF-IDF + LR on the
recipe's own split (``--recipe-tweets`` tweets; the recipe's default is 12,000, 14 min on
2 cores, too slow for ``make bench``, so it runs at this documented size).

Usage:
    python benchmarks/bench_head_quality.py [--domains vision text speech] [--recipe-tweets 2000]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from common import fashion_folder, machine  # noqa: E402

C_GRID = [float(c) for c in 10.0 ** np.arange(-4, 2.01, 0.5)]  # 1e-4 ... 1e2, half-decades


def vision_case(tmp: Path, args):
    from transferkit.common.data.read import read
    from transferkit.common.data.domain import ReadOptions, get_domain
    from transferkit.common.data.splits import Splits, split_examples

    data = fashion_folder(tmp / "fm", args.per_class, args.per_class // 2)
    domain = get_domain("vision")
    train = read(domain, str(data / "train"), ReadOptions(), "train")
    parts = split_examples(train, validation=0.1, test=0.0, seed=0)
    splits = Splits(train=parts.train, validation=parts.validation,
                    test=read(domain, str(data / "test"), ReadOptions(), "test"))
    return "vision", splits, ("mobilenet_v1", "mobilenet_v1_imagenet", {"size": 128}), None


def text_case(tmp: Path, args):
    from transferkit.common.data.splits import split_examples
    from transferkit.nlp.data import read_source
    from transferkit.nlp.tweets import fetch_tweets

    n = args.tweets
    path = fetch_tweets(tmp / "tweets.csv", subset=n, seed=0)
    splits = split_examples(read_source(path), validation=0.1 * 2 / 3, test=1 / 3,
                            seed=0)  # 10% of the train two thirds
    return "text", splits, ("minilm_l6", "minilm_l6", {"max_length": 64}), "tfidf"


def speech_case(tmp: Path, args):
    from transferkit.common.data.splits import split_examples
    from transferkit.speech.data import read_audio_source
    from transferkit.speech.speak import DIGITS, default_voices, speak_dataset

    index = speak_dataset(DIGITS, tmp / "digits", default_voices(args.voices, seed=0))
    splits = split_examples(read_audio_source(index), validation=0.15, test=0.25, seed=0)
    return "speech", splits, ("kws_mobilenetv2", "kws_mobilenetv2", {}), None


def default_head(domain, splits, backbone, out: Path):
    """The transferkit default head; returns (its test metrics, cached features, codec)."""
    import numpy as np

    from transferkit.common.config import BackboneConfig, DataConfig, RunConfig, TrainConfig
    from transferkit.common.data.labels import LabelCodec
    from transferkit.common.train.trainer import train_run

    name, weights, options = backbone
    config = RunConfig(domain=domain, backbone=BackboneConfig(name, weights, options),
                       train=TrainConfig(embedding_cache="disk"),
                       data=DataConfig(train="benchmark splits"))
    result = train_run(config, out, splits=splits, verbose=0)
    features = {s: np.load(out / "features" / f"{s}.npy") for s in ("train", "validation",
                                                                    "test")}
    codec = LabelCodec.fit(splits.train.labels)
    return result.metrics, features, codec


def tuned_logistic(x, y, xv, yv, xt, grid=C_GRID, scale=True):
    """Logistic regression, C tuned on validation accuracy; (test predictions, C)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    if scale:
        scaler = StandardScaler().fit(x)
        x, xv, xt = scaler.transform(x), scaler.transform(xv), scaler.transform(xt)
    best = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for c in grid:
            model = LogisticRegression(C=c, max_iter=3000).fit(x, y)
            val = model.score(xv, yv)
            if best is None or val > best[0]:
                best = (val, c, model)
    edge = " at the grid's edge" if best[1] in (grid[0], grid[-1]) else ""
    return best[2].predict(xt), f"{best[1]:g}{edge}"


def tfidf_row(splits, y) -> tuple:
    """TF-IDF (1-2-grams) + logistic regression, C tuned on validation accuracy."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = {s: list(getattr(splits, s).items) for s in ("train", "validation", "test")}
    tfidf = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit(texts["train"])
    pred, c = tuned_logistic(tfidf.transform(texts["train"]), y["train"],
                             tfidf.transform(texts["validation"]), y["validation"],
                             tfidf.transform(texts["test"]),
                             grid=[0.3, 1, 3, 10, 30, 100, 300, 1000], scale=False)
    return row(f"TF-IDF 1-2-grams + LogisticRegression (C={c})", y["test"], pred)


def recipe_vs_tfidf(tmp: Path, tweets: int) -> tuple[float, float]:
    """Goal 2b: the text-sentiment recipe's defaults against TF-IDF + LR on its own split.

    Returns (accuracy gain, macro-F1 gain) of the recipe, in points.
    """
    import time

    from transferkit.common.data.labels import LabelCodec
    from transferkit.common.recipe_registry import get_recipe
    from transferkit.recipes.text_recipes import _tweet_splits  # the recipe's exact split

    out = tmp / "recipe"
    t0 = time.perf_counter()
    figures = get_recipe("text-sentiment").run(out, subset=tweets)
    seconds = time.perf_counter() - t0
    splits, _ = _tweet_splits(out, tweets, 0)
    codec = LabelCodec.fit(splits.train.labels)
    y = {s: codec.encode(getattr(splits, s).labels) for s in ("train", "validation", "test")}
    rows = [("text-sentiment recipe, defaults (frozen head, then fine-tune)",
             figures["test_accuracy"], figures["test_macro_f1"]), tfidf_row(splits, y)]
    sizes = "/".join(str(len(getattr(splits, s))) for s in ("train", "validation", "test"))
    print(f"\ntext-sentiment recipe on {tweets} tweets ({sizes} train/validation/test, the "
          f"recipe's split; {seconds:.0f} s)")
    print(f"  {'model':<62} {'accuracy':>9} {'macro-F1':>9}")
    for name, acc, f1 in rows:
        print(f"  {name:<62} {acc:9.4f} {f1:9.4f}")
    gain = (100 * (rows[0][1] - rows[1][1]), 100 * (rows[0][2] - rows[1][2]))
    print(f"  recipe - TF-IDF: accuracy {gain[0]:+.1f} points, macro-F1 {gain[1]:+.1f} points "
          f"(goal 2b: both >= +5)")
    return gain


def row(name, y, pred):
    import numpy as np
    from sklearn.metrics import f1_score

    return (name, float(np.mean(pred == y)), float(f1_score(y, pred, average="macro")))


def run_domain(case, tmp: Path) -> list:
    import numpy as np

    domain, splits, backbone, extra = case
    metrics, feats, codec = default_head(domain, splits, backbone, tmp / f"run-{domain}")
    y = {s: codec.encode(getattr(splits, s).labels) for s in ("train", "validation", "test")}
    flat = {s: f.reshape(len(f), -1) for s, f in feats.items()}
    pred, c = tuned_logistic(flat["train"], y["train"], flat["validation"], y["validation"],
                             flat["test"])
    test, head = metrics["test"], metrics.get("head") or {}
    chosen = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in (head.get("chosen") or {}).items())
    rows = [(f"transferkit default head ({head.get('solver')}, {chosen})",
             test["accuracy"], test["macro_f1"]),
            row(f"StandardScaler + LogisticRegression (C={c})", y["test"], pred),
            row("majority class", y["test"],
                np.full(len(y["test"]), np.bincount(y["train"]).argmax()))]
    if extra == "tfidf":
        rows.append(tfidf_row(splits, y))
    sizes = "/".join(str(len(getattr(splits, s))) for s in ("train", "validation", "test"))
    print(f"\n{domain} ({backbone[0]}, {sizes} train/validation/test)")
    print(f"  {'head':<62} {'accuracy':>9} {'macro-F1':>9}")
    for name, acc, f1 in rows:
        print(f"  {name:<62} {acc:9.4f} {f1:9.4f}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", nargs="+", default=["vision", "text", "speech"])
    parser.add_argument("--per-class", type=int, default=200, help="Fashion-MNIST train")
    parser.add_argument("--tweets", type=int, default=3000)
    parser.add_argument("--voices", type=int, default=80)
    parser.add_argument("--recipe-tweets", type=int, default=2000,
                        help="tweets for the text-sentiment recipe (goal 2b); 0 = skip it")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tk-bench-heads-"))
    print(f"# benchmark 2: default head vs tuned logistic regression ({machine()})")
    print(f"C grid (StandardScaler + LR on the frozen features): {C_GRID[0]:g} .. "
          f"{C_GRID[-1]:g}, {len(C_GRID)} values; the best on validation accuracy is tested")
    cases = {"vision": vision_case, "text": text_case, "speech": speech_case}
    ratios = {}
    for name in args.domains:
        rows = run_domain(cases[name](tmp, args), tmp)
        ratios[name] = rows[0][1] / rows[1][1]
        if rows[0][1] < rows[2][1]:
            print(f"  BELOW the majority class in {name}")
    if "text" in args.domains and args.recipe_tweets:
        recipe_vs_tfidf(tmp, args.recipe_tweets)
    shutil.rmtree(tmp, ignore_errors=True)
    worst = min(ratios, key=ratios.get)
    print("\ndefault head / tuned LR accuracy: " +
          "  ".join(f"{d} {r:.3f}x" for d, r in ratios.items()))
    print(f"default head / tuned logistic regression accuracy, worst domain ({worst}): "
          f"{ratios[worst]:.3f}x (goal >= 1.00x); {machine()}")


if __name__ == "__main__":
    main()
