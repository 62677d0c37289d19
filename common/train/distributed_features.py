"""The embedding cache under ``tf.distribute``: replicas share each batch, workers shards.

One machine with several devices (``MirroredStrategy``): each batch is split across the
replicas and the features gathered back in order. Several workers
(``MultiWorkerMirroredStrategy``): each worker embeds its own contiguous shard of the
items, then the shards are all-gathered (a collective, so no shared disk is needed) and
every worker, the chief included, holds the merged cache in the items' order.
"""
from __future__ import annotations

import numpy as np

from transferkit.common.keras import tf
from transferkit.common.train.distribute import is_multiworker, read_tf_config

GATHER_ROWS = 4096  # rows per collective message (bounded, whatever the dataset's size)


def replicas(strategy) -> int:
    return strategy.num_replicas_in_sync if strategy is not None else 1


def shard_range(n_items: int, strategy) -> range:
    """The items this worker embeds: all of them, or its contiguous share under
    multi-worker training (``np.array_split``'s sizes, in task order)."""
    if strategy is None or not is_multiworker(strategy):
        return range(n_items)
    task = read_tf_config()
    bounds = np.cumsum([0] + [len(a) for a in np.array_split(np.arange(n_items), task.workers)])
    return range(int(bounds[task.rank]), int(bounds[task.rank + 1]))


def mirrored_call(strategy, model):
    """A traced step that splits a distributed batch across the replicas, runs the
    backbone on each and gathers the features back in the batch's order."""

    @tf.function(reduce_retracing=True)
    def step(batch):
        per_replica = strategy.run(lambda x: model(x, training=False), args=(batch,))
        return strategy.gather(per_replica, axis=0)

    return step


def all_gather_rows(strategy, rows: np.ndarray) -> np.ndarray:
    """Concatenate every worker's ``rows`` in task order (a collective: every worker calls
    it), in chunks of :data:`GATHER_ROWS` rows."""
    local = len(strategy.extended.worker_devices)
    counts = _gather(strategy, np.asarray([[len(rows)]], np.int64), local)[:, 0]
    chunks = -(-int(counts.max()) // GATHER_ROWS) if counts.max() else 0
    parts = [[] for _ in counts]
    for k in range(chunks):
        piece = rows[k * GATHER_ROWS:(k + 1) * GATHER_ROWS]
        merged = _gather(strategy, np.ascontiguousarray(piece, np.float32), local)
        sizes = [max(0, min(GATHER_ROWS, int(c) - k * GATHER_ROWS)) for c in counts]
        for w, part in enumerate(np.split(merged, np.cumsum(sizes)[:-1])):
            parts[w].append(part)
    if not chunks:
        return np.zeros((0, *rows.shape[1:]), np.float32)
    return np.concatenate([np.concatenate(p) for p in parts])


def _gather(strategy, value: np.ndarray, local: int) -> np.ndarray:
    """One all-gather: the first replica of each worker contributes ``value``."""
    empty = value[:0]

    def contribution(ctx):
        return tf.constant(value if ctx.replica_id_in_sync_group % local == 0 else empty)

    distributed = strategy.experimental_distribute_values_from_function(contribution)
    return strategy.gather(distributed, axis=0).numpy()
