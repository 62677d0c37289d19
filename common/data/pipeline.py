"""The one place a split's ``tf.data`` pipeline is built from a run's options.

The domain turns items into model inputs (:attr:`Domain.make_dataset`); this module decides
the batching: training batches are shuffled (and augmented when asked), and feature
extraction and prediction use large batches (measured: predict at batch 128 beats 32 on CPU).

Example:
    >>> ds = build_pipeline(domain, contract, items, batch_size=128)  # doctest: +SKIP
"""
from __future__ import annotations

from transferkit.common.data.domain import PipelineOptions

FEATURE_BATCH = 128


def inference_batch_size(batch_size: int) -> int:
    """The batch for feature extraction and prediction: at least :data:`FEATURE_BATCH`."""
    return max(batch_size, FEATURE_BATCH)


def build_pipeline(domain, contract, items, targets=None, *, batch_size: int,
                   training: bool = False, augment: bool = False, seed: int = 0,
                   sharded: bool = False):
    """Batched ``(inputs, targets)`` (or inputs alone when ``targets`` is None).

    Args:
        domain: The run's :class:`~transferkit.common.data.domain.Domain`.
        contract: The backbone's input contract.
        items: Image/audio paths or texts, in the order to visit them.
        targets: Encoded labels, or None for unlabelled input.
        batch_size: Examples per batch.
        training: Shuffle each epoch (seeded); with ``augment``, augment too.
        sharded: ``items`` already are this worker's share (multi-worker training sharded
            by files): tf.data must not shard again.
    """
    options = PipelineOptions(batch_size=batch_size, training=training,
                              augment=training and augment, seed=seed)
    return _shard_policy(domain.make_dataset(items, targets, contract, options), sharded)


def _shard_policy(dataset, sharded: bool):
    """How multi-worker training splits the data: by data (tf.data's
    ``AutoShardPolicy.DATA``: each worker takes its share of every global batch; the items
    are a list in memory, not files tf.data reads), or not at all (``OFF``) when each worker
    was given its own share of the files."""
    from transferkit.common.keras import tf

    policy = tf.data.experimental.AutoShardPolicy
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = policy.OFF if sharded else policy.DATA
    return dataset.with_options(options)
