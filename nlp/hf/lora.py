"""Where LoRA adapts an HF TF encoder: the attention projections of every transformer block.

The text domain registers :func:`lora_targets` as its ``Domain.lora_targets`` hook;
:mod:`transferkit.common.train.lora_phase` wraps what it returns. BERT, RoBERTa and MiniLM
name the projections ``query``/``key``/``value`` (on ``attention.self_attention``),
DistilBERT ``q_lin``/``k_lin``/``v_lin`` (on ``attention``).

Example:
    >>> [(type(p).__name__, a) for p, a in lora_targets(backbone, ("query",))][:1]  # doctest: +SKIP
    [('TFBertSelfAttention', 'query')]
"""
from __future__ import annotations

from transferkit.common.keras import keras
from transferkit.nlp.hf.encoder import HFEncoder, transformer_blocks

PROJECTIONS = ("query", "key", "value")
_NAMES = {"query": ("query", "q_lin"), "key": ("key", "k_lin"), "value": ("value", "v_lin")}


def lora_targets(backbone, projections=("query", "value")) -> list[tuple]:
    """``(parent layer, attribute)`` of each chosen attention projection, bottom to top.

    Raises:
        ValueError: for a backbone with no HF encoder layer, an unknown projection name, or
            a block where a projection is not found.
    """
    unknown = sorted(set(projections) - set(PROJECTIONS))
    if unknown:
        raise ValueError(f"train.lora_targets: unknown projection(s) {unknown}; "
                         f"choose from {PROJECTIONS}")
    encoder = _hf_encoder(backbone)
    out = []
    for i, block in enumerate(transformer_blocks(encoder.main)):
        layers = list(block._flatten_layers(include_self=True, recursive=True))
        for name in projections:
            found = [(layer, attr) for layer in layers for attr in _NAMES[name]
                     if isinstance(getattr(layer, attr, None), keras.layers.Dense)]
            if len(found) != 1:
                raise ValueError(f"LoRA: block {i} of {backbone.name!r} has "
                                 f"{len(found)} {name!r} projections, expected one")
            out.append(found[0])
    return out


def _hf_encoder(backbone) -> HFEncoder:
    model = getattr(backbone, "model", backbone)
    for layer in model.layers:
        if isinstance(layer, HFEncoder):
            return layer
    raise ValueError(f"fine_tune_method='lora' adapts Hugging Face encoders (hf_encoder, "
                     f"minilm_l6, bert_base_uncased, ...); backbone {backbone.name!r} has "
                     f"no HF encoder layer: use fine_tune_method='full'")
