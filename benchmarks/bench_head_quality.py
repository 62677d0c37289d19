"""Benchmark 2: the default phase-1 head against tuned logistic regression, per domain.

On each domain's real data and pretrained backbone, ``train_run`` with the default head and
training settings (only data, backbone and a disk embedding cache are set, so the cached
features can be read back) is compared, on the very same cached features and splits, with
scikit-learn's ``StandardScaler`` + ``LogisticRegression`` whose C is tuned on the same
validation split; and with the majority class. In text also with what a user would try
first: TF-IDF (1-2-grams) + logistic regression, C tuned on validation.

- vision: Fashion-MNIST, 2,000 train (10% of it validation) / 1,000 test, frozen ImageNet
  MobileNetV1 at 128 px;
- text: 3,330 tweets split 60/10/30 (about 2,000 / 333 / 1,000), frozen MiniLM-L6;
- speech: espeak-ng digits, 80 voices split by voice, frozen keyword-spotting MobileNetV2.

Usage:
    python benchmarks/bench_head_quality.py [--domains vision text speech]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from common import machine  # noqa: E402

C_GRID = [float(c) for c in 10.0 ** np.arange(-4, 2.01, 0.5)]  # 1e-4 ... 1e2, half-decades


def vision_case(tmp: Path):
    from bench_seeds_loop import fashion_folder

    from transferkit.common.data import read
    from transferkit.common.domain import ReadOptions, get_domain
    from transferkit.common.splits import Splits, split_examples

    data = fashion_folder(tmp / "fm")
    domain = get_domain("vision")
    train = read(domain, str(data / "train"), ReadOptions(), "train")
    parts = split_examples(train, validation=0.1, test=0.0, seed=0)
    splits = Splits(train=parts.train, validation=parts.validation,
                    test=read(domain, str(data / "test"), ReadOptions(), "test"))
    return "vision", splits, ("mobilenet_v1", "mobilenet_v1_imagenet", {"size": 128}), None


def text_case(tmp: Path):
    from transferkit.common.splits import split_examples
    from transferkit.nlp.data import read_source
    from transferkit.nlp.tweets import fetch_tweets

    path = fetch_tweets(tmp / "tweets.csv", subset=3330, seed=0)
    splits = split_examples(read_source(path), validation=0.1, test=0.3, seed=0)
    return "text", splits, ("minilm_l6", "minilm_l6", {"max_length": 64}), "tfidf"


def speech_case(tmp: Path):
    from transferkit.recipes.speech_recipes import _voice_splits

    splits, _ = _voice_splits(tmp / "speech", 80, 0)
    return "speech", splits, ("kws_mobilenetv2", "kws_mobilenetv2", {}), None


def default_head(domain, splits, backbone, out: Path):
    """The transferkit default head; returns (its test metrics, cached features, codec)."""
    import numpy as np

    from transferkit.common.config import BackboneConfig, DataConfig, RunConfig, TrainConfig
    from transferkit.common.labels import LabelCodec
    from transferkit.common.trainer import train_run

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
    return best[2].predict(xt), best[1]


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
    test = metrics["test"]
    rows = [(f"transferkit default head ({metrics['head']['solver']}, "
             f"{metrics['head']['chosen']})", test["accuracy"], test["macro_f1"]),
            row(f"StandardScaler + LogisticRegression (C={c:g})", y["test"], pred),
            row("majority class", y["test"],
                np.full(len(y["test"]), np.bincount(y["train"]).argmax()))]
    if extra == "tfidf":
        from sklearn.feature_extraction.text import TfidfVectorizer

        texts = {s: list(getattr(splits, s).items) for s in ("train", "validation", "test")}
        tfidf = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit(texts["train"])
        pred, c = tuned_logistic(tfidf.transform(texts["train"]), y["train"],
                                 tfidf.transform(texts["validation"]), y["validation"],
                                 tfidf.transform(texts["test"]), grid=[0.3, 1, 3, 10, 30, 100],
                                 scale=False)
        rows.append(row(f"TF-IDF 1-2-grams + LogisticRegression (C={c:g})", y["test"], pred))
    sizes = "/".join(str(len(getattr(splits, s))) for s in ("train", "validation", "test"))
    print(f"\n{domain} ({backbone[0]}, {sizes} train/validation/test)")
    print(f"  {'head':<62} {'accuracy':>9} {'macro-F1':>9}")
    for name, acc, f1 in rows:
        print(f"  {name:<62} {acc:9.4f} {f1:9.4f}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", nargs="+", default=["vision", "text", "speech"])
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tk-bench-heads-"))
    print(f"# benchmark 2: default head vs tuned logistic regression ({machine()})")
    cases = {"vision": vision_case, "text": text_case, "speech": speech_case}
    ratios = {}
    for name in args.domains:
        rows = run_domain(cases[name](tmp), tmp)
        ratios[name] = rows[0][1] / rows[1][1]
        if rows[0][1] < rows[2][1]:
            print(f"  WARNING: the default head is below the majority class in {name}")
    worst = min(ratios, key=ratios.get)
    print("\n" + "  ".join(f"{d}: {r:.3f}x" for d, r in ratios.items()))
    print(f"default head / tuned logistic regression accuracy, worst domain ({worst}): "
          f"{ratios[worst]:.3f}x (goal >= 1.00x)")


if __name__ == "__main__":
    main()
