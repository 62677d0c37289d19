"""The text serving model: raw strings ``[batch]`` in, the trained model's outputs out.

Tokenisation runs in-graph (``tensorflow_text.BertTokenizer`` over the encoder's
``vocab.txt``, or a TF-Hub preprocessing model), so the SavedModel exported from it takes
plain strings and reloads offline with ``tf.saved_model.load``: the vocab file is copied
into the SavedModel's assets with the lookup table that reads it. Its tokeniser ops live in
tensorflow-text, so a process must ``import tensorflow_text`` before loading it
(``import transferkit.nlp`` does).

Example:
    >>> serving = serving_model(model, contract)  # doctest: +SKIP
    >>> serving.save("runs/x/saved_model", save_format="tf")  # doctest: +SKIP
    >>> import tensorflow_text  # registers CaseFoldUTF8, WordpieceTokenizeWithOffsets, ...
    >>> tf.saved_model.load("runs/x/saved_model").signatures["serving_default"](
    ...     text=tf.constant(["great film"]))  # doctest: +SKIP
"""
from __future__ import annotations

import sys

from transferkit.common.model.contracts import TextContract
from transferkit.common.keras import keras, tf
from transferkit.nlp.tokenizer import new_packer, tokenizes_in_graph


class TextPreprocessing(keras.layers.Layer):
    """Strings ``[batch]`` -> the encoder's input dict, in-graph."""

    def __init__(self, contract: TextContract, **kwargs):
        super().__init__(trainable=False, **kwargs)
        self.contract = contract
        self.packer = new_packer(contract)

    def call(self, texts):
        return self.packer(texts)

    def get_config(self):
        return {**super().get_config(), "tokenizer": self.contract.tokenizer,
                "max_length": self.contract.max_length, "lowercase": self.contract.lowercase}


def serving_model(model: keras.Model, contract: TextContract) -> keras.Model | None:
    """Wrap ``model`` (encoder inputs -> predictions) to take raw text.

    Returns None for tokenizers that can't run in-graph (BPE, e.g. RoBERTa): the run then
    exports the model on encoder inputs, and ``transferkit predict``/``load`` tokenise in
    Python with the run's tokenizer.
    """
    if not tokenizes_in_graph(contract):
        print(f"[transferkit] tokenizer {contract.tokenizer!r} is not WordPiece, so it can't "
              "run in-graph: the SavedModel takes encoder inputs (input_word_ids, input_mask, "
              "input_type_ids); transferkit predict and transferkit.load tokenise in Python",
              file=sys.stderr)
        return None
    texts = keras.Input(shape=(), dtype=tf.string, name="text")
    inputs = TextPreprocessing(contract, name="text_preprocessing")(texts)
    return keras.Model(texts, model(inputs), name="text_serving")
