"""The text ``make_dataset``: strings (+ targets) -> batched, dynamically padded inputs.

Texts are batched first and tokenised per batch, so each batch is padded to its own
longest text (capped at ``contract.max_length``) rather than to a global maximum; short
tweets cost short sequences. Shuffling happens only for training; otherwise order is kept,
which the embedding cache relies on.

For frozen feature extraction, :func:`length_order` sorts texts by token length (the text
domain's ``extraction_order``), so each batch holds texts of similar length and pads to
little more than its own texts; the features are scattered back into input order.

Example:
    >>> ds = make_dataset(["good", "bad"], np.array([1, 0]), contract,
    ...                   PipelineOptions(batch_size=2))  # doctest: +SKIP
    >>> inputs, targets = next(iter(ds))  # doctest: +SKIP
"""
from __future__ import annotations

import numpy as np

from transferkit.common.model.contracts import TextContract
from transferkit.common.data.domain import PipelineOptions
from transferkit.common.keras import tf
from transferkit.nlp.tokenizer import (WordPiecePacker, load_packer, pack_ragged,
                                       python_tokenize)


def make_dataset(items, targets, contract: TextContract, options: PipelineOptions):
    """Batched ``(inputs, targets)``, or ``inputs`` when ``targets`` is None.

    Args:
        items: Texts.
        targets: Encoded targets (one row per text) or None.
        contract: The backbone's :class:`TextContract` (tokenizer, max length).
        options: Batch size, training (shuffle) and seed.
    """
    texts = [str(t) for t in items]
    packer = load_packer(contract)
    if packer is None:  # Python-side tokenizer (BPE): tokenise once, pad per batch
        ids, pad_id = python_tokenize(contract, texts)
        ds = _with_targets(tf.data.Dataset.from_tensor_slices(ids), targets)
        ds = _shuffle(ds, len(texts), options)
        return _finish(ds.ragged_batch(options.batch_size),
                       lambda x: pack_ragged(x, pad_id), targets is not None)
    strings = tf.constant(texts, dtype=tf.string) if texts else tf.zeros([0], tf.string)
    ds = _with_targets(tf.data.Dataset.from_tensor_slices(strings), targets)
    ds = _shuffle(ds, len(texts), options)
    return _finish(ds.batch(options.batch_size), packer, targets is not None)


_LENGTH_CHUNK = 4096  # texts tokenised per eager call when measuring lengths


def token_lengths(items, contract: TextContract) -> np.ndarray:
    """Each text's packed length in tokens (special tokens included, capped at
    ``contract.max_length``), with the tokenizer the contract's pipeline uses."""
    texts = [str(t) for t in items]
    if not texts:
        return np.zeros([0], np.int64)
    packer = load_packer(contract)
    if packer is None:  # Python-side (BPE) tokenizer: one batched fast-tokenizer call
        ids, _ = python_tokenize(contract, texts)
        lengths = ids.row_lengths().numpy()
    elif isinstance(packer, WordPiecePacker):  # batched in-graph WordPiece, no packing
        lengths = np.concatenate([
            packer.tokenizer.tokenize(tf.constant(texts[i:i + _LENGTH_CHUNK]))
            .merge_dims(-2, -1).row_lengths().numpy() + 2  # [CLS] ... [SEP]
            for i in range(0, len(texts), _LENGTH_CHUNK)])
    else:  # TF-Hub preprocessing: its mask says how many tokens each text packs to
        lengths = np.concatenate([
            tf.reduce_sum(packer(tf.constant(texts[i:i + _LENGTH_CHUNK]))["input_mask"],
                          axis=1).numpy()
            for i in range(0, len(texts), _LENGTH_CHUNK)])
    return np.minimum(lengths.astype(np.int64), int(contract.max_length))


def length_order(items, contract: TextContract) -> np.ndarray:
    """The permutation that sorts ``items`` by token length (stable: ties keep input order).

    Batching texts in this order pads each batch to about its own texts' length instead of
    the longest text that happened to land in it; ``extract_features(..., order=...)``
    restores input order.
    """
    return np.argsort(token_lengths(items, contract), kind="stable").astype(np.int64)


def _with_targets(ds, targets):
    if targets is None:
        return ds
    return tf.data.Dataset.zip((ds, tf.data.Dataset.from_tensor_slices(np.asarray(targets))))


def _shuffle(ds, n: int, options: PipelineOptions):
    if not options.training or n == 0:
        return ds
    return ds.shuffle(n, seed=options.seed, reshuffle_each_iteration=True)


def _finish(ds, pack, has_targets: bool):
    if has_targets:
        ds = ds.map(lambda x, y: (pack(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    else:
        ds = ds.map(pack, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)
