"""Benchmark: unsupervised domain adaptation (AdaBN, CORAL) against no adaptation.

A frozen-feature run is trained on the clean source domain (the toolkit's defaults), then
evaluated on shifted copies of its test set three ways, side by side on the same model:

- ``plain``: the run as trained (the alternative: no adaptation);
- ``adabn``: classic AdaBN, the BatchNorm statistics replaced by those of *unlabelled
  shifted training inputs* (``transferkit adapt --reference backbone``), weights unchanged;
- ``adabn_src``: AdaBN with the source as the reference: the target's BN-input statistics
  are mapped onto those of 500 source training inputs (``transferkit adapt``'s default);
- ``coral``: target features mapped onto the source covariance, folded into the head
  (``transferkit adapt --method coral``).

No target label is used to adapt; adaptation and evaluation inputs are disjoint (vision,
espeak shifts), except the Festival target, which has too few voices to split and is
adapted and evaluated on the same unlabelled clips (transductive, said in the table).
No extra training epochs: all three columns share the one trained head.

- vision: Fashion-MNIST, 1,000 train (100/class, 10% validation), 500 unlabelled target
  images (another 50/class, shifted), 500 test (50/class, shifted); frozen ImageNet
  MobileNetV1 at 96 px; shifts: inverted contrast, Gaussian blur (radius 1.2 px at 28 px),
  Gaussian noise (sd 50/255), an orange-blue colour tint, and ``clean`` as a control.
- speech: espeak-ng digits split by voice, frozen ``kws_mobilenetv2``; shifts: white noise
  at 10 dB SNR, a telephone band-pass (300-3400 Hz), Festival voices.
- text (CORAL only: no BatchNorm): 1,500 tweets, frozen MiniLM-L6; shifts: typos in 30% /
  60% of the words (``--domains text``).

Usage:
    python benchmarks/domain_shift.py [--domains vision speech text] [--seeds 0 1 2]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from common import machine  # noqa: E402

METHODS = ("plain", "adabn", "adabn_src", "coral")


def accuracy(domain, model, contract, codec, items, labels) -> float:
    from transferkit.common.output.rundir import predict_items

    outputs = predict_items(domain, model, items, contract)
    return float(np.mean(np.argmax(outputs, axis=1) == codec.encode(labels)))


REFERENCE_ITEMS = 500  # source inputs whose BN statistics adabn_src maps the target onto


def evaluate_shifts(result, domain, contract, source_items, shifts: dict) -> dict:
    """``{shift: {method: accuracy}}``; ``shifts[name] = (target_items, test_items,
    test_labels)``. The model is restored after each adaptation."""
    from transferkit.common.data.pipeline import build_pipeline
    from transferkit.common.train import coral
    from transferkit.common.train.adabn import adapt_batchnorm, batchnorm_layers
    from transferkit.common.train.features import extract_features

    model, codec = result.model, _codec(result)
    bn = [(layer, layer.moving_mean.numpy(), layer.moving_variance.numpy())
          for layer in batchnorm_layers(model)]
    head = coral.head_of(model)
    head_weights = head.get_weights()
    features = coral.feature_model(model)

    def pipe(items):
        return build_pipeline(domain, contract, items, batch_size=64)

    def feats(items):
        return extract_features(features, pipe(items), len(items))

    source = feats(source_items)
    reference_items = list(source_items)[:REFERENCE_ITEMS]
    out = {}
    for name, (target, test, labels) in shifts.items():
        row = {"plain": accuracy(domain, model, contract, codec, test, labels),
               "adabn": None, "adabn_src": None}
        for column, reference in (("adabn", None), ("adabn_src", reference_items)) * bool(bn):
            adapt_batchnorm(model, pipe(target), source_batches=reference and pipe(reference))
            row[column] = accuracy(domain, model, contract, codec, test, labels)
            for layer, mean, var in bn:
                layer.moving_mean.assign(mean)
                layer.moving_variance.assign(var)
        a, c = coral.coral_map(source, feats(target))
        coral.fold_into_head(head, a, c)
        row["coral"] = accuracy(domain, model, contract, codec, test, labels)
        head.set_weights(head_weights)
        out[name] = row
        print(f"  {name:<24} " + "  ".join(f"{m} {_cell(row[m])}" for m in METHODS), flush=True)
    return out


def _cell(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _codec(result):
    from transferkit.common.data.labels import LabelCodec

    return LabelCodec("multiclass", tuple(result.labels))


# --- vision -------------------------------------------------------------------------------

def _shift_image(name: str, img: np.ndarray, rng) -> np.ndarray:
    """A 28x28 uint8 Fashion-MNIST image -> RGB uint8 in the ``name`` domain."""
    from PIL import Image, ImageFilter

    x = img.astype(np.float32)
    if name == "invert":
        x = 255.0 - x
    elif name == "blur":
        x = np.asarray(Image.fromarray(img).filter(ImageFilter.GaussianBlur(1.2)), np.float32)
    elif name == "noise":
        x = x + rng.normal(0, 50, x.shape)
    elif name == "low_contrast":
        x = 96.0 + 0.35 * x
    rgb = np.repeat(x[..., None], 3, axis=-1)
    if name == "tint":
        rgb = rgb * np.array([1.0, 0.55, 0.25]) + np.array([0.0, 30.0, 90.0])
    return np.clip(rgb, 0, 255).astype(np.uint8)


VISION_SHIFTS = ("clean", "invert", "blur", "noise", "tint")


def _write(root: Path, images, labels, names, shift: str, seed: int) -> tuple[list, list]:
    from PIL import Image

    rng, items = np.random.default_rng(seed), []
    for i, (img, lab) in enumerate(zip(images, labels)):
        path = root / names[lab] / f"{i:05d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(_shift_image(shift, img, rng)).save(path)
        items.append(str(path))
    return items, [names[lab] for lab in labels]


def vision(seed: int, work: Path) -> dict:
    from transferkit.common.config import (BackboneConfig, DataConfig, HeadConfig, RunConfig,
                                           TrainConfig)
    from transferkit.common.data.domain import Examples, get_domain
    from transferkit.common.data.splits import Splits, per_class_indices, split_examples
    from transferkit.common.train.trainer import train_run
    from transferkit.vision.fashion_mnist import CLASS_NAMES, load_fashion_mnist

    images, labels = load_fashion_mnist("train", quiet=True)
    pool = per_class_indices(labels, 200, seed)
    pool = pool[np.argsort(labels[pool], kind="stable")]
    source_idx, target_idx = pool[0::2], pool[1::4]  # 100/class and 50/class, disjoint
    test_images, test_labels = load_fashion_mnist("test", quiet=True)
    test_idx = per_class_indices(test_labels, 50, seed)
    items, names = _write(work / "source", images[source_idx], labels[source_idx],
                          CLASS_NAMES, "clean", seed)
    split = split_examples(Examples(items=tuple(items), labels=tuple(names)), validation=0.1, test=0.0,
                           seed=seed)
    shifts = {}
    for shift in VISION_SHIFTS:
        target, _ = _write(work / shift / "target", images[target_idx], labels[target_idx],
                           CLASS_NAMES, shift, seed + 1)
        test, test_names = _write(work / shift / "test", test_images[test_idx],
                                  test_labels[test_idx], CLASS_NAMES, shift, seed + 2)
        shifts[shift] = (target, test, test_names)
    config = RunConfig(
        domain="vision", backbone=BackboneConfig("mobilenet_v1", "mobilenet_v1_imagenet",
                                                 {"size": 96}),
        head=HeadConfig(units=(), dropout=0.0), train=TrainConfig(seed=seed),
        data=DataConfig(train="fashion-mnist (Debian dataset-fashion-mnist)"))
    splits = Splits(train=split.train, validation=split.validation,
                    test=Examples(items=tuple(shifts["clean"][1]),
                                   labels=tuple(shifts["clean"][2])))
    result = train_run(config, work / "run", splits=splits, verbose=0)
    contract = _contract(work / "run")
    return evaluate_shifts(result, get_domain("vision"), contract, list(split.train.items),
                           shifts)


def _contract(run_dir: Path):
    import json

    from transferkit.common.model.contracts import contract_from_dict

    return contract_from_dict(json.loads((run_dir / "contract.json").read_text())["contract"])


# --- speech -------------------------------------------------------------------------------

SPEECH_SHIFTS = ("clean", "noise_10db", "telephone", "festival")
RATE = 16000


def _shift_wave(name: str, wave: np.ndarray, rng) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    if name == "noise_10db":  # white noise 10 dB below the clip's own power
        power = float(np.mean(wave ** 2)) or 1e-8
        wave = wave + rng.normal(0, np.sqrt(power / 10.0), wave.shape)
    elif name == "telephone":  # the 300-3400 Hz telephone band
        wave = sosfilt(butter(4, [300, 3400], btype="bandpass", fs=RATE, output="sos"), wave)
    return np.clip(wave, -1, 1).astype(np.float32)


def _write_clips(root: Path, items, labels, shift: str, seed: int) -> tuple[list, list]:
    import soundfile

    from transferkit.speech.audio_io import load_audio

    rng, out = np.random.default_rng(seed), []
    for i, (item, label) in enumerate(zip(items, labels)):
        path = root / label / f"{i:05d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(path, _shift_wave(shift, load_audio(item, RATE), rng), RATE)
        out.append(str(path))
    return out, list(labels)


def _voice_parts(index: Path, seed: int):
    """Train/validation/target/test examples of the espeak clips, each voice on one side."""
    from transferkit.common.data.splits import split_examples
    from transferkit.speech.data import read_audio_source

    examples = read_audio_source(index)
    first = split_examples(examples, validation=0.0, test=0.25, seed=seed)  # test voices
    rest = split_examples(first.train, validation=0.1, test=0.25, seed=seed)  # target voices
    return rest.train, rest.validation, rest.test, first.test


def speech(seed: int, work: Path) -> dict:
    from transferkit.common.config import (BackboneConfig, DataConfig, HeadConfig, RunConfig,
                                           TrainConfig)
    from transferkit.common.data.domain import Examples, get_domain
    from transferkit.common.data.splits import Splits
    from transferkit.common.model.weights import named_weights
    from transferkit.common.train.trainer import train_run
    from transferkit.speech.speak import DIGITS, default_voices, festival_voices, speak_dataset

    named_weights("kws_mobilenetv2").fetch()
    index = speak_dataset(DIGITS, work / "espeak", default_voices(60, seed=seed))
    train, validation, target, test = _voice_parts(index, seed)
    festival = speak_dataset(DIGITS, work / "festival",
                             festival_voices((110, 130, 150, 170, 190, 210)))
    from transferkit.speech.data import read_audio_source

    fest = read_audio_source(festival)
    shifts = {}
    for shift in SPEECH_SHIFTS[:-1]:
        tgt, _ = _write_clips(work / shift / "target", target.items, target.labels, shift, seed)
        tst, names = _write_clips(work / shift / "test", test.items, test.labels, shift, seed + 1)
        shifts[shift] = (tgt, tst, names)
    shifts["festival (transductive)"] = (list(fest.items), list(fest.items), list(fest.labels))
    config = RunConfig(
        domain="speech", backbone=BackboneConfig("kws_mobilenetv2", "kws_mobilenetv2"),
        head=HeadConfig(units=(128,), dropout=0.3),
        train=TrainConfig(epochs=100, learning_rate=1e-3, batch_size=32,
                          early_stopping_patience=15, seed=seed),
        data=DataConfig(train=str(index)))
    clean_test = Examples(items=tuple(shifts["clean"][1]), labels=tuple(shifts["clean"][2]))
    result = train_run(config, work / "run", verbose=0,
                       splits=Splits(train=train, validation=validation, test=clean_test))
    return evaluate_shifts(result, get_domain("speech"), _contract(work / "run"),
                           list(train.items), shifts)


# --- text ---------------------------------------------------------------------------------

def _typos(text: str, rate: float, rng) -> str:
    """Each word of 3+ letters, with probability ``rate``: two letters swapped, one dropped
    or one doubled (MiniLM's tokenizer lowercases, so casing alone would shift nothing)."""
    words = []
    for word in text.split(" "):
        if len(word) >= 3 and rng.random() < rate:
            i, kind = int(rng.integers(0, len(word) - 1)), int(rng.integers(0, 3))
            word = (word[:i] + word[i + 1] + word[i] + word[i + 2:] if kind == 0 else
                    word[:i] + word[i + 1:] if kind == 1 else word[:i] + word[i] + word[i:])
        words.append(word)
    return " ".join(words)


TEXT_SHIFTS = {"clean": 0.0, "typos_30pct": 0.3, "typos_60pct": 0.6}


def text(seed: int, work: Path) -> dict:
    from transferkit.common.config import (BackboneConfig, DataConfig, HeadConfig, RunConfig,
                                           TrainConfig)
    from transferkit.common.data.domain import get_domain
    from transferkit.common.data.splits import Splits, split_examples
    from transferkit.common.model.weights import named_weights
    from transferkit.common.train.trainer import train_run
    from transferkit.nlp.data import read_source
    from transferkit.nlp.tweets import fetch_tweets

    named_weights("minilm_l6").fetch()
    path = fetch_tweets(work / "tweets.csv", subset=1500, seed=seed, quiet=True)
    first = split_examples(read_source(path), validation=0.0, test=0.2, seed=seed)
    rest = split_examples(first.train, validation=0.1, test=0.25, seed=seed)
    rng, shifts = np.random.default_rng(seed), {}
    for name, rate in TEXT_SHIFTS.items():
        shifts[name] = ([_typos(t, rate, rng) for t in rest.test.items],
                        [_typos(t, rate, rng) for t in first.test.items], list(first.test.labels))
    config = RunConfig(
        domain="text", backbone=BackboneConfig("minilm_l6", "minilm_l6", {"max_length": 64}),
        head=HeadConfig(dropout=0.1), train=TrainConfig(seed=seed),
        data=DataConfig(train=str(path)))
    result = train_run(config, work / "run", verbose=0,
                       splits=Splits(train=rest.train, validation=rest.validation,
                                     test=first.test))
    return evaluate_shifts(result, get_domain("text"), _contract(work / "run"),
                           list(rest.train.items), shifts)


# --- report -------------------------------------------------------------------------------

def table(domain: str, per_seed: list[dict]) -> None:
    print(f"\n{domain}: test accuracy on each shifted domain, mean ± sd over "
          f"{len(per_seed)} seed(s) (adabn/coral: adapted on unlabelled target inputs)")
    print(f"  {'shift':<24}" + "".join(f"{m:>18}" for m in METHODS)
          + "".join(f"{m + ' - plain':>18}" for m in METHODS[1:]))
    for shift in per_seed[0]:
        cells, gains = [], []
        for m in METHODS:
            vals = [s[shift][m] for s in per_seed]
            if None in vals:
                cells.append("n/a (no BN)")
                gains.append("n/a")
                continue
            sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
            cells.append(f"{statistics.mean(vals):.4f} ± {sd:.4f}")
            gains.append(f"{statistics.mean(v - s[shift]['plain'] for v, s in zip(vals, per_seed)):+.4f}")
        print(f"  {shift:<24}" + "".join(f"{c:>18}" for c in cells)
              + "".join(f"{g:>18}" for g in gains[1:]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--domains", nargs="+", default=["vision", "speech"],
                        choices=["vision", "speech", "text"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    args = parser.parse_args(argv)
    print(f"domain_shift: {machine()}")
    for domain in args.domains:
        per_seed = []
        for seed in args.seeds:
            print(f"{domain}, seed {seed}:", flush=True)
            with tempfile.TemporaryDirectory(prefix=f"domain-shift-{domain}-") as work:
                fn = {"vision": vision, "speech": speech, "text": text}[domain]
                per_seed.append(fn(seed, Path(work)))
        table(domain, per_seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
