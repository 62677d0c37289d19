"""The text ``make_dataset``: strings (+ targets) -> batched, dynamically padded inputs.

Texts are batched first and tokenised per batch, so each batch is padded to its own
longest text (capped at ``contract.max_length``) rather than to a global maximum; short
tweets cost short sequences. Shuffling happens only for training; otherwise order is kept,
which the embedding cache relies on.

Example:
    >>> ds = make_dataset(["good", "bad"], np.array([1, 0]), contract,
    ...                   PipelineOptions(batch_size=2))  # doctest: +SKIP
    >>> inputs, targets = next(iter(ds))  # doctest: +SKIP
"""
from __future__ import annotations

import numpy as np

from transferkit.common.contracts import TextContract
from transferkit.common.domain import PipelineOptions
from transferkit.common.keras import tf
from transferkit.nlp.tokenizer import load_packer, pack_ragged, python_tokenize


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
