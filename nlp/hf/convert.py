"""Safetensors-only Hugging Face checkpoints as TF checkpoints, without torch.

``TFAutoModel.from_pretrained(dir)`` on a folder holding only ``model.safetensors`` fails in
transformers 4.57 (``TypeError: 'builtins.safe_open' object is not iterable``,
transformers#40028). The workaround: build the TF model from its config, load the
PyTorch-layout arrays read by ``safetensors.numpy`` into it, and ``save_pretrained`` the
result, which writes ``tf_model.h5`` that reloads normally. The converted copy is cached
under ``cache_dir()/"hf-converted"/<content hash>`` so the conversion runs once.

Example:
    >>> tf_dir = ensure_tf_checkpoint("/models/all-MiniLM-L6-v2")  # doctest: +SKIP
    >>> (tf_dir / "tf_model.h5").exists()  # doctest: +SKIP
    True
"""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from transferkit.common.data.assets import cache_dir, record_sha256, verified_file
from transferkit.common.io import atomic_path

TF_WEIGHTS = "tf_model.h5"
SAFETENSORS = "model.safetensors"
# Tokenizer and config files travel with the converted copy so that it is a complete,
# self-contained model directory (the text pipeline reads vocab.txt from it).
_SIDE_FILES = ("config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json",
               "special_tokens_map.json", "merges.txt", "vocab.json")
# Buffers that PyTorch checkpoints carry but the TF classes recompute.
_IGNORED_KEY_PARTS = ("position_ids",)


def content_key(model_dir: Path) -> str:
    """A short hash of the config and the weights, so an edited source re-converts."""
    digest = hashlib.sha256()
    for name in ("config.json", SAFETENSORS):
        with open(model_dir / name, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:20]


def needs_conversion(model_dir: Path) -> bool:
    """True when the folder has safetensors weights but no TF checkpoint."""
    return (model_dir / SAFETENSORS).is_file() and not (model_dir / TF_WEIGHTS).is_file()


def ensure_tf_checkpoint(model_dir) -> Path:
    """``model_dir`` itself if it holds ``tf_model.h5``, else its cached TF conversion.

    Raises:
        FileNotFoundError: when the folder has neither ``tf_model.h5`` nor
            ``model.safetensors`` (e.g. only ``pytorch_model.bin``, which needs torch).
    """
    model_dir = Path(model_dir)
    if (model_dir / TF_WEIGHTS).is_file():
        return model_dir
    if not (model_dir / SAFETENSORS).is_file():
        present = sorted(p.name for p in model_dir.iterdir()) if model_dir.is_dir() else []
        raise FileNotFoundError(
            f"{model_dir}: no {TF_WEIGHTS} or {SAFETENSORS} (found: {present[:10]}); "
            f"PyTorch .bin checkpoints need torch, which transferkit does not use")
    key = content_key(model_dir)
    return converted_checkpoint(model_dir, key) or _convert(model_dir, _target(key), key)


def converted_checkpoint(model_dir: Path, key: str | None = None) -> Path | None:
    """The cached TF conversion of ``model_dir`` when its ``tf_model.h5`` still has the sha256
    recorded at conversion (for this config and weights), else None."""
    key = key or content_key(Path(model_dir))
    target = _target(key)
    return target if verified_file(target / TF_WEIGHTS, key) is not None else None


def _target(key: str) -> Path:
    return cache_dir() / "hf-converted" / key


def _convert(source: Path, target: Path, key: str) -> Path:
    from safetensors.numpy import load_file
    from transformers import AutoConfig, TFAutoModel
    from transformers.modeling_tf_pytorch_utils import load_pytorch_state_dict_in_tf2_model

    config = AutoConfig.from_pretrained(str(source))
    model = TFAutoModel.from_config(config)
    state = {k: v for k, v in load_file(str(source / SAFETENSORS)).items()
             if not any(part in k for part in _IGNORED_KEY_PARTS)}
    _, info = load_pytorch_state_dict_in_tf2_model(
        model, state, allow_missing_keys=True, output_loading_info=True,
        skip_logger_warnings=True)
    missing = [k for k in info["missing_keys"] if "pooler" not in k]
    if missing:  # a silent partial load would train on random weights: refuse it
        raise ValueError(f"{source / SAFETENSORS}: weights missing for {missing[:5]} "
                         f"({len(missing)} in all); is config.json the right architecture?")
    with atomic_path(target) as staging:
        model.save_pretrained(str(staging))
        for name in _SIDE_FILES[1:]:
            if (source / name).is_file():
                shutil.copyfile(source / name, staging / name)
    record_sha256(target / TF_WEIGHTS, key)
    return target
