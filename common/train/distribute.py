"""Scale-out on TensorFlow's own engine, ``tf.distribute``: which strategy, who writes.

``train.strategy`` picks the strategy; the trainer builds the backbone and the head,
compiles, extracts features and fits inside its ``scope()``. The batch size is global
(tf.distribute splits each batch across the replicas). Under multi-worker training every
worker runs the same program; only the chief writes the run directory, the others write
to temporary folders that are deleted afterwards (TF's multi-worker guide).

Example:
    >>> strategy = make_strategy("mirrored")  # doctest: +SKIP
    >>> strategy.num_replicas_in_sync  # doctest: +SKIP
    2
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

BASE_BATCH = 32  # the batch size the default learning rates were tuned at


@dataclass(frozen=True)
class Task:
    """This process's place in a ``TF_CONFIG`` cluster."""

    kind: str
    index: int
    workers: int  # chief + workers: the processes that train
    has_chief: bool = False

    @property
    def is_chief(self) -> bool:
        """The chief writes the run: task ``chief``, or worker 0 when there is no chief."""
        return self.kind == "chief" or (self.kind == "worker" and self.index == 0
                                        and not self.has_chief)

    @property
    def rank(self) -> int:
        """Position among the training processes (the chief first)."""
        return self.index + (1 if self.kind == "worker" and self.has_chief else 0)


def read_tf_config(env=None) -> Task | None:
    """The task ``TF_CONFIG`` names, or None when it is not set.

    Raises:
        ValueError: ``TF_CONFIG`` is not JSON or lacks ``cluster`` / ``task``.
    """
    raw = (os.environ if env is None else env).get("TF_CONFIG", "")
    if not raw.strip():
        return None
    try:
        config = json.loads(raw)
        cluster, task = config["cluster"], config["task"]
        kind, index = str(task["type"]), int(task["index"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"TF_CONFIG is not a valid cluster spec ({type(exc).__name__}: "
                         f"{exc}); expected {{\"cluster\": {{\"worker\": [\"host:port\", ...]}}, "
                         f"\"task\": {{\"type\": \"worker\", \"index\": 0}}}}") from None
    workers = len(cluster.get("worker", [])) + len(cluster.get("chief", []))
    return Task(kind=kind, index=index, workers=workers, has_chief=bool(cluster.get("chief")))


def make_strategy(name: str, tpu_address: str = ""):
    """The ``tf.distribute`` strategy ``train.strategy`` names.

    ``auto``: mirrored over the GPUs when more than one is visible, else the default
    (one device). ``mirrored``: every GPU, or every logical CPU device when there are no
    GPUs. ``multiworker``: ``MultiWorkerMirroredStrategy`` over the ``TF_CONFIG`` cluster.
    ``tpu``: ``TPUStrategy`` on the TPU at ``tpu_address`` (empty: this TPU VM).
    """
    from transferkit.common.keras import tf

    if name in ("auto", "default"):
        gpus = tf.config.list_logical_devices("GPU")
        if name == "auto" and len(gpus) > 1:
            return tf.distribute.MirroredStrategy()
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices=_mirrored_devices(tf))
    if name == "multiworker":
        if read_tf_config() is None:
            raise ValueError("strategy 'multiworker' needs TF_CONFIG (the cluster and this "
                             "process's task); see docs/scaling.md")
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        return _tpu_strategy(tf, tpu_address)
    raise ValueError(f"train.strategy: unknown strategy {name!r}")


def _mirrored_devices(tf) -> list[str]:
    gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
    return gpus or [d.name for d in tf.config.list_logical_devices("CPU")]


def _tpu_strategy(tf, address: str):
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address or "local")
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as exc:
        raise RuntimeError(f"no TPU at {address or 'this machine (local)'}: {exc}; give "
                           f"--tpu-address (the TPU's name or grpc://host:port)") from None
    return tf.distribute.TPUStrategy(resolver)


def describe(strategy) -> dict:
    """What ``metrics.json`` records: the strategy, its replicas and this process's task."""
    task = read_tf_config() if is_multiworker(strategy) else None
    name = "MultiWorkerMirroredStrategy" if task is not None else type(strategy).__name__
    out = {"strategy": name, "replicas": strategy.num_replicas_in_sync}
    if task is not None:
        out.update(workers=task.workers, task=f"{task.kind}:{task.index}")
    return out


def is_multiworker(strategy) -> bool:
    from transferkit.common.keras import tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def is_chief(strategy) -> bool:
    """Whether this process writes the run directory (always, but on a non-chief worker)."""
    if not is_multiworker(strategy):
        return True
    task = read_tf_config()
    return task is None or task.is_chief


def worker_files(n_items: int, strategy) -> range:
    """This worker's training files when sharding by files: every N-th, from its rank."""
    task = read_tf_config()
    return range(task.rank, n_items, task.workers)


def write_dir(out_dir, strategy) -> Path:
    """Where this process writes: ``out_dir`` on the chief, a fresh temporary folder on
    the other workers (removed by :func:`release_write_dir`)."""
    if is_chief(strategy):
        return Path(out_dir)
    task = read_tf_config()
    return Path(tempfile.mkdtemp(prefix=f"transferkit-{task.kind}{task.index}-"))


def release_write_dir(path: Path, out_dir, strategy) -> None:
    """Delete a non-chief worker's temporary folder."""
    if Path(path) != Path(out_dir) and not is_chief(strategy):
        shutil.rmtree(path, ignore_errors=True)


def seed_resume(path: Path, out_dir, strategy) -> None:
    """A resumed non-chief worker starts from the chief's checkpoints (shared disk)."""
    source = Path(out_dir) / "checkpoints"
    if Path(path) != Path(out_dir) and source.is_dir():
        shutil.copytree(source, Path(path) / "checkpoints", dirs_exist_ok=True)


def scaled_learning_rate(learning_rate: float, batch_size: int) -> float:
    """The linear scaling rule: the rate grows with the global batch over :data:`BASE_BATCH`."""
    return learning_rate * batch_size / BASE_BATCH


def scaled_config(config, log=print):
    """The run config the phases train with: learning rates scaled by the linear rule when
    ``train.scale_learning_rate`` (``config.json`` keeps the unscaled ones)."""
    t = config.train
    if not t.scale_learning_rate:
        return config
    lr = {name: scaled_learning_rate(getattr(t, name), t.batch_size)
          for name in ("learning_rate", "fine_tune_learning_rate")}
    log(f"linear scaling rule: batch {t.batch_size} / {BASE_BATCH} -> head lr "
        f"{lr['learning_rate']:g}, fine-tune lr {lr['fine_tune_learning_rate']:g}")
    return dataclasses.replace(config, train=dataclasses.replace(
        t, scale_learning_rate=False, **lr))


def record(strategy, config, trained) -> dict:
    """``metrics.json``'s record of the strategy and the learning rates trained with."""
    out = describe(strategy) if strategy is not None else {}
    out.update(learning_rate=trained.train.learning_rate,
               fine_tune_learning_rate=trained.train.fine_tune_learning_rate,
               scaled_learning_rate=config.train.scale_learning_rate)
    return out
