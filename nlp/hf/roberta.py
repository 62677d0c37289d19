"""RoBERTa-base from the Hugging Face Hub (online, or its local cache).

Its byte-level BPE tokenizer runs in Python: RoBERTa trains and evaluates, but its runs
can't export a raw-string SavedModel (no in-graph BPE in tensorflow-text).

Example:
    >>> backbone = create_backbone("roberta_base")  # doctest: +SKIP
"""
from transferkit.common.model.contracts import TextContract
from transferkit.common.model.registry import register_backbone
from transferkit.common.model.weights import WeightSource
from transferkit.nlp.hf.encoder import build_hf_backbone

HUB_NAME = "FacebookAI/roberta-base"


@register_backbone("roberta_base", domain="text",
                   contract=TextContract(tokenizer=f"hf:{HUB_NAME}", max_length=128),
                   weight_sources=(WeightSource("hf", kind="hf", handle=HUB_NAME),), licence="MIT",
                   description="RoBERTa-base (12 layers, 768-d), Hugging Face Hub")
def roberta_base(weights=None, contract=TextContract(), pooling="mean"):
    """RoBERTa-base; random init uses the library's RoBERTa-base-sized config."""
    from transformers import RobertaConfig

    config = RobertaConfig(vocab_size=50265, max_position_embeddings=514, type_vocab_size=1,
                           pad_token_id=1, bos_token_id=0, eos_token_id=2)
    return build_hf_backbone("roberta_base", weights, contract,
                             pooling=pooling, default_config=config)
