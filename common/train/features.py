"""The embedding cache: run a frozen backbone once, then train the head on its features.

``fit(epochs=10)`` over a frozen base runs the backbone ten times; computing features once
(in memory, or memory-mapped on disk for large sets) runs it once. Features on disk are
keyed by a fingerprint, so an interrupted run resumes without recomputing them.
"""
from __future__ import annotations

import hashlib
import json
import logging
import weakref
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from transferkit.common.io import atomic_path, atomic_write_text

MEMORY_LIMIT_BYTES = 1 << 30  # "auto" goes to disk above 1 GiB of features


def fingerprint(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def choose_mode(mode: str, n_items: int, feature_shape: tuple) -> str:
    """Resolve ``"auto"`` to ``"memory"`` or ``"disk"`` by the features' size."""
    if mode != "auto":
        return mode
    nbytes = 4 * n_items * int(np.prod(feature_shape))
    return "disk" if nbytes > MEMORY_LIMIT_BYTES else "memory"


def extract_features(backbone, dataset, n_items: int, *, mode: str = "memory",
                     path: Path | None = None, key: str = "", desc: str = "features",
                     order=None):
    """Backbone features for every item of an (unshuffled, unaugmented) batched dataset.

    Args:
        backbone: tf_keras model, inputs -> features.
        dataset: Batched ``tf.data`` of model inputs (no targets).
        n_items: Number of items (for the progress bar and the on-disk array).
        mode: ``"memory"`` or ``"disk"``.
        path: ``.npy`` file for ``"disk"``; reused when its key matches.
        key: Fingerprint of backbone weights + items + pipeline.
        order: The dataset yields items in this order (a permutation of ``range(n_items)``);
            row ``order[k]`` of the result gets the ``k``-th feature, so the result is in the
            items' own order (a scatter write: no second copy, also for disk mode).

    Returns:
        ``np.ndarray`` (memory-mapped for disk mode) of shape ``[n_items, *feature_shape]``.
    """
    if mode == "disk":
        if path is None:
            raise ValueError("disk embedding cache needs a path")
        cached = _cached_array(path, key)
        if cached is not None:
            return cached
    order = _check_order(order, n_items)
    with _maybe_atomic(path if mode == "disk" else None) as tmp:
        call, batches = _calls(backbone, dataset)
        out = _fill(call, batches, n_items, mode, tmp, order, desc)
        if mode == "disk":
            out.flush()
            del out
    if mode == "disk":
        return _keyed(path, key, n_items)
    return out


def save_features(path: Path, key: str, features: np.ndarray):
    """Write computed ``features`` as the disk cache of ``path`` under ``key`` (atomically);
    returns them memory-mapped, as disk-mode :func:`extract_features` does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, features)
    return _keyed(path, key, len(features))


def _keyed(path: Path, key: str, n_items: int):
    """Record ``key`` beside the written ``path`` (what :func:`_cached_array` checks)."""
    atomic_write_text(Path(str(path) + ".json"), json.dumps({"key": key, "n": n_items}))
    return np.load(path, mmap_mode="r")


def _cached_array(path: Path, key: str):
    """The on-disk features when their recorded key matches, else None."""
    meta = Path(str(path) + ".json")
    if path.exists() and meta.exists() and json.loads(meta.read_text()).get("key") == key:
        return np.load(path, mmap_mode="r")
    return None


def _check_order(order, n_items: int):
    if order is None:
        return None
    order = np.asarray(order, dtype=np.int64)
    if sorted(order.tolist()) != list(range(n_items)):
        raise ValueError(f"extraction order is not a permutation of {n_items} items")
    return order


def _fill(call, dataset, n_items: int, mode: str, tmp, order, desc: str):
    """Run ``call`` over the batches, writing row ``order[k]`` (or ``k``) of the result."""
    out, row = None, 0
    with tqdm(total=n_items, desc=desc, unit="item", leave=False, mininterval=1.0) as bar:
        for batch in dataset:
            feats = call(batch).numpy()
            if out is None:
                out = _allocate(mode, tmp, (n_items, *feats.shape[1:]))
            rows = slice(row, row + len(feats)) if order is None else order[row:row + len(feats)]
            out[rows] = feats
            row += len(feats)
            bar.update(len(feats))
    if row != n_items:
        raise RuntimeError(f"feature extraction saw {row} items, expected {n_items}")
    return out


_TRACED = weakref.WeakKeyDictionary()  # backbone -> its traced call, made once


class _OwnRetracingNotice(logging.Filter):
    """Drops TF's "calls triggered tf.function retracing" notice about transferkit's own calls.

    TF counts traces per Python code object, so a recipe that extracts features with several
    backbones (pretrained, random init, frontend only) looks like a loop re-creating one
    function, although each backbone is traced once or twice by design. Likewise the head
    fitters build and compile a fresh small head per candidate (a C, a dropout rate), and
    Keras makes new ``predict_function`` / ``train_function`` objects for each: by design,
    not a loop of the user's.
    """

    SOURCES = ("_predict_fn", "make_predict_function", "make_train_function",
               "_batch_all_gather")  # multi-worker: one gather per cache chunk and split

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("triggered tf.function retracing" in message
                    and any(source in message for source in self.SOURCES))


def quiet_own_retracing_notices() -> None:
    """Install :class:`_OwnRetracingNotice` on TF's logger (once)."""
    from transferkit.common.keras import tf

    if not any(isinstance(f, _OwnRetracingNotice) for f in tf.get_logger().filters):
        tf.get_logger().addFilter(_OwnRetracingNotice())


def _predict_fn(backbone):
    """One traced inference call per backbone, shared by every split and phase.

    A traced call beats ``model.predict``'s per-call overhead for many small batches; keeping
    one per backbone (not one per split) avoids re-tracing and TF's retracing warnings.
    """
    call = _TRACED.get(backbone)
    if call is None:
        from transferkit.common.keras import tf

        quiet_own_retracing_notices()
        model = weakref.ref(backbone)  # the cache must not keep the backbone alive
        call = tf.function(lambda x: model()(x, training=False), reduce_retracing=True)
        _TRACED[backbone] = call
    return call


def _calls(backbone, dataset):
    """``(call, batches)``: the traced backbone over the dataset; under a strategy with
    several replicas on this machine, each batch split across them (mirrored)."""
    from transferkit.common.keras import tf

    strategy = tf.distribute.get_strategy() if tf.distribute.has_strategy() else None
    if strategy is not None and strategy.num_replicas_in_sync > 1:
        from transferkit.common.train.distribute import is_multiworker
        from transferkit.common.train.distributed_features import mirrored_call

        if not is_multiworker(strategy):  # workers embed their own shard (phases)
            return (mirrored_call(strategy, backbone),
                    strategy.experimental_distribute_dataset(dataset))
    return _predict_fn(backbone), dataset


def _allocate(mode, tmp, shape):
    if mode == "disk":
        return np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=shape)
    return np.empty(shape, np.float32)


class _Null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _maybe_atomic(path):
    return atomic_path(path) if path is not None else _Null()


