"""DistilBERT-base uncased from the Hugging Face Hub (online, or its local cache).

Example:
    >>> backbone = create_backbone("distilbert_base_uncased")  # doctest: +SKIP
"""
from transferkit.common.model.contracts import TextContract
from transferkit.common.model.registry import register_backbone
from transferkit.common.model.weights import WeightSource
from transferkit.nlp.hf.encoder import build_hf_backbone

HUB_NAME = "distilbert/distilbert-base-uncased"


@register_backbone("distilbert_base_uncased", domain="text",
                   contract=TextContract(tokenizer=f"hf:{HUB_NAME}", max_length=128),
                   weight_sources=(WeightSource("hf", kind="hf", handle=HUB_NAME),), licence="Apache-2.0",
                   description="DistilBERT-base uncased (6 layers, 768-d), Hugging Face Hub")
def distilbert_base_uncased(weights=None, contract=TextContract(), pooling="mean"):
    """DistilBERT has no pooler: pooling is "mean" or "cls"."""
    from transformers import DistilBertConfig

    return build_hf_backbone("distilbert_base_uncased", weights, contract,
                             pooling=pooling, default_config=DistilBertConfig())
