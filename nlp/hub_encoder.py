"""TF-Hub BERT-style text encoders with their matching preprocessing model.

The encoder (``handle``) maps the dict ``input_word_ids``/``input_mask``/``input_type_ids``
to ``pooled_output`` and ``sequence_output``; the preprocessing model (``preprocess_handle``)
maps strings to that dict. The backbone is the encoder alone, so its input is what the text
pipeline yields; the preprocessor runs in the pipeline and in the exported serving model,
named by the contract's tokenizer ``"hub:<preprocess_handle>"``. Handles are TF-Hub URLs or
local SavedModel paths.

The whole hub encoder is one block for "unfreeze top N" (a SavedModel exposes no layers).

Example:
    >>> backbone = create_backbone("hub_text", handle="/models/bert_en_uncased_L-2",
    ...     preprocess_handle="/models/bert_preprocess",
    ...     tokenizer="hub:/models/bert_preprocess")  # doctest: +SKIP
"""
from __future__ import annotations

import dataclasses

from transferkit.common.model.registry import Backbone
from transferkit.common.model.contracts import TextContract
from transferkit.common.model.hub import hub_keras_layer
from transferkit.common.keras import keras, tf
from transferkit.common.model.registry import register_backbone
from transferkit.nlp.tokenizer import HUB_PREFIX, INPUT_KEYS

OUTPUT_KEYS = ("pooled_output", "default")


@register_backbone("hub_text", domain="text", contract=TextContract(),
                   description="A TF-Hub BERT-style encoder (handle=) with its "
                               "preprocessing model (preprocess_handle=)",
                   licence="that of the TF-Hub model given")
def hub_text(weights=None, contract=TextContract(), handle: str = "",
             preprocess_handle: str = "", output_key: str = "pooled_output"):
    """TF-Hub encoder; ``weights`` may stand in for ``handle`` (a local SavedModel path)."""
    handle = handle or (str(weights) if weights else "")
    if not handle:
        raise ValueError("hub_text needs handle=ENCODER (a TF-Hub URL or SavedModel folder)")
    if output_key not in OUTPUT_KEYS:
        raise ValueError(f"output_key must be one of {OUTPUT_KEYS}, got {output_key!r}")
    inputs = {k: keras.Input(shape=(None,), dtype=tf.int32, name=k) for k in INPUT_KEYS}
    encoder = hub_keras_layer(handle, "hub_text", trainable=True, name="hub_encoder")
    pooled = encoder(inputs)[output_key]
    model = keras.Model(inputs, pooled, name="hub_text")
    if preprocess_handle and not contract.tokenizer:
        contract = dataclasses.replace(contract, tokenizer=HUB_PREFIX + preprocess_handle)
    return Backbone(model, contract, blocks=(encoder,))
