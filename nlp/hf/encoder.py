"""Hugging Face TF encoders (BERT, DistilBERT, RoBERTa, MiniLM) as functional backbones.

The ``TFAutoModel`` sits inside one :class:`HFEncoder` layer, so the backbone is a plain
functional tf_keras model: dict of int32 ``input_word_ids``/``input_mask``/``input_type_ids``
``[batch, seq]`` -> pooled float32 ``[batch, hidden]``. Pooling is ``"mean"`` (masked mean),
``"cls"`` (first token) or ``"pooler"`` (the model's ``pooler_output``).

For "unfreeze the top N" the :class:`~transferkit.common.model.registry.Backbone` lists its units
bottom to top in ``blocks`` (read by :func:`transferkit.common.model.freezing.unfreeze`): the
embeddings, each transformer block, and the pooler when it is used. :func:`encoder_layers`
returns just the transformer blocks.

Example:
    >>> backbone = create_backbone("hf_encoder", weights="/models/bert-tiny",
    ...                            tokenizer="/models/bert-tiny", pooling="cls")  # doctest: +SKIP
    >>> unfreeze(backbone, top=2)  # the last two transformer blocks  # doctest: +SKIP
"""
from __future__ import annotations

import dataclasses
import inspect

from transferkit.common.model.registry import Backbone
from transferkit.common.model.contracts import TextContract
from transferkit.common.keras import keras, tf
from transferkit.common.model.registry import register_backbone
from transferkit.nlp.hf.weights import load_tf_model, resolve_model_dir
from transferkit.nlp.tokenizer import INPUT_KEYS

POOLINGS = ("mean", "cls", "pooler")


@keras.utils.register_keras_serializable(package="transferkit")
class HFEncoder(keras.layers.Layer):
    """A ``TFPreTrainedModel`` as one layer: encoder inputs -> pooled features.

    Its config carries the HF model's config, so a model holding it saves to ``.keras``
    and reloads offline (the architecture is rebuilt from the config, then the weights load).
    """

    def __init__(self, hf_model, pooling: str = "mean", **kwargs):
        super().__init__(**kwargs)
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.hf_model = hf_model
        self.pooling = pooling
        self.main = getattr(hf_model, hf_model.base_model_prefix)
        if pooling == "pooler" and getattr(self.main, "pooler", None) is None:
            raise ValueError(f"{type(hf_model).__name__} has no pooler; use pooling='mean' "
                             f"or 'cls'")
        self._takes_types = "token_type_ids" in inspect.signature(hf_model.call).parameters

    def get_config(self) -> dict:
        return {**super().get_config(), "pooling": self.pooling,
                "hf_config": self.hf_model.config.to_dict()}

    @classmethod
    def from_config(cls, config: dict) -> "HFEncoder":
        import transformers

        config = dict(config)
        hf_config = dict(config.pop("hf_config"))
        hf_config = transformers.AutoConfig.for_model(hf_config.pop("model_type"), **hf_config)
        return cls(transformers.TFAutoModel.from_config(hf_config), **config)

    def call(self, inputs, training=False):
        kwargs = {"input_ids": inputs["input_word_ids"], "attention_mask": inputs["input_mask"]}
        if self._takes_types:
            kwargs["token_type_ids"] = inputs["input_type_ids"]
        out = self.hf_model(kwargs, training=training)
        if self.pooling == "pooler":
            return out.pooler_output
        hidden = out.last_hidden_state
        if self.pooling == "cls":
            return hidden[:, 0]
        mask = tf.cast(inputs["input_mask"], hidden.dtype)[:, :, None]
        return tf.reduce_sum(hidden * mask, 1) / tf.maximum(tf.reduce_sum(mask, 1), 1.0)

    def _unused_ids(self) -> set:
        # The pooler's weights get no gradient under mean/cls pooling; listing them as
        # trainable would only draw "gradients do not exist" warnings in fine-tuning.
        pooler = getattr(self.main, "pooler", None)
        if self.pooling == "pooler" or pooler is None:
            return set()
        return {id(w) for w in pooler.weights}

    @property
    def trainable_weights(self):
        unused = self._unused_ids()
        return [w for w in super().trainable_weights if id(w) not in unused]

    @property
    def non_trainable_weights(self):
        unused = self._unused_ids()
        moved = [w for w in super().trainable_weights if id(w) in unused]
        return super().non_trainable_weights + moved

    def blocks(self) -> list:
        """Units for "top N", bottom to top: embeddings, transformer blocks, [pooler]."""
        units = [self.main.embeddings, *transformer_blocks(self.main)]
        if self.pooling == "pooler":
            units.append(self.main.pooler)
        return units


def transformer_blocks(main_layer) -> list:
    """The transformer blocks of an HF main layer (BERT/RoBERTa ``encoder.layer``,
    DistilBERT ``transformer.layer``)."""
    for stack in ("encoder", "transformer"):
        inner = getattr(main_layer, stack, None)
        if inner is not None and getattr(inner, "layer", None) is not None:
            return list(inner.layer)
    raise ValueError(f"{type(main_layer).__name__}: can't find its transformer blocks")


def encoder_layers(model) -> list:
    """The transformer blocks of a backbone built here, bottom to top.

    Example:
        >>> for block in encoder_layers(backbone)[-2:]:  # doctest: +SKIP
        ...     block.trainable = True
    """
    model = model.model if isinstance(model, Backbone) else model
    for layer in model.layers:
        if isinstance(layer, HFEncoder):
            return transformer_blocks(layer.main)
    raise ValueError(f"{model.name} has no HFEncoder layer")


def wrap_encoder(hf_model, pooling: str, name: str, contract=None) -> Backbone:
    """The functional backbone around an HF TF model (see the module docstring)."""
    inputs = {k: keras.Input(shape=(None,), dtype=tf.int32, name=k) for k in INPUT_KEYS}
    encoder = HFEncoder(hf_model, pooling, name="hf_encoder")
    model = keras.Model(inputs, encoder(inputs), name=name)
    return Backbone(model, contract, tuple(encoder.blocks()))


def build_hf_backbone(name: str, weights, contract: TextContract, *, default_config=None,
                      pooling: str = "mean", config=None) -> Backbone:
    """Shared builder: load the TF model for resolved ``weights``, wrap and pool.

    With ``weights=None`` the model is randomly initialised from ``config`` (a path or HF
    config object), else ``default_config``, else the tokenizer folder's ``config.json``.
    A contract with no tokenizer gets the model folder's.
    """
    model_dir = None
    if weights is not None:
        model_dir = resolve_model_dir(name, weights)
    else:
        config = config or default_config or _config_beside_tokenizer(name, contract)
    if model_dir is not None and not contract.tokenizer:
        contract = dataclasses.replace(contract, tokenizer=str(model_dir))
    return wrap_encoder(load_tf_model(model_dir, config), pooling, name, contract)


def _config_beside_tokenizer(name: str, contract: TextContract):
    from pathlib import Path

    folder = Path(contract.tokenizer).expanduser() if contract.tokenizer else None
    if folder is not None and (folder / "config.json").is_file():
        return str(folder)
    raise ValueError(f"{name}: random init needs a model config: pass config=PATH "
                     f"(a folder with config.json) or tokenizer=MODEL_DIR")


@register_backbone("hf_encoder", domain="text", contract=TextContract(),
                   description="Any Hugging Face TF encoder from a local directory or "
                               "weights='hf:ORG/NAME'",
                   licence="that of the checkpoint given")
def hf_encoder(weights=None, contract=TextContract(), pooling="mean", config=None):
    """Any HF encoder: ``weights`` is a local directory or ``"hf:ORG/NAME"``."""
    return build_hf_backbone("hf_encoder", weights, contract, pooling=pooling, config=config)
