"""BERT-base uncased from the Hugging Face Hub (online, or its local cache).

Example:
    >>> backbone = create_backbone("bert_base_uncased", pooling="pooler")  # doctest: +SKIP
"""
from transferkit.common.model.contracts import TextContract
from transferkit.common.model.registry import register_backbone
from transferkit.common.model.weights import WeightSource
from transferkit.nlp.hf.encoder import build_hf_backbone

HUB_NAME = "google-bert/bert-base-uncased"


@register_backbone("bert_base_uncased", domain="text",
                   contract=TextContract(tokenizer=f"hf:{HUB_NAME}", max_length=128),
                   weight_sources=(WeightSource("hf", kind="hf", handle=HUB_NAME),), licence="Apache-2.0",
                   description="BERT-base uncased (12 layers, 768-d), Hugging Face Hub")
def bert_base_uncased(weights=None, contract=TextContract(), pooling="cls"):
    """BERT-base uncased; random init uses the library's BERT-base config."""
    from transformers import BertConfig

    return build_hf_backbone("bert_base_uncased", weights, contract,
                             pooling=pooling, default_config=BertConfig())
