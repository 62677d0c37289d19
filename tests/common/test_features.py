"""The embedding cache: a frozen backbone runs once per image, in memory or on disk."""
import dataclasses
import json

import numpy as np
import pytest

from transferkit.common.train import features
from transferkit.common.data.domain import PipelineOptions, get_domain
from transferkit.common.train.features import choose_mode, extract_features, fingerprint
from tests.common.conftest import TINY, run_config


@pytest.fixture(scope="module")
def counting(tiny_backbone):
    """The tiny CNN with a last layer that counts the images it really processes."""
    from transferkit.common.model.registry import create_backbone
    from transferkit.common.seed import set_global_seed

    set_global_seed(0)
    backbone = create_backbone(TINY, weights=None, counter=True)
    counter = backbone.model.get_layer("counter").count
    return backbone, lambda: int(counter.numpy())


def _train(backbone, data, out, overwrite=False, **train):
    from transferkit.common.train.trainer import train_run

    return train_run(run_config(data, **{"epochs": 5, **train}), out, backbone=backbone,
                     verbose=0, overwrite=overwrite)


@pytest.fixture(scope="module")
def memory_and_disk_runs(counting, colour_folders, tmp_path_factory):
    backbone, count = counting
    root = tmp_path_factory.mktemp("cache")
    seen = {}
    start = count()
    memory = _train(backbone, colour_folders, root / "memory", embedding_cache="memory")
    seen["memory"] = count() - start
    start = count()
    disk = _train(backbone, colour_folders, root / "disk", embedding_cache="disk")
    seen["disk"] = count() - start
    return memory, disk, seen


def test_frozen_backbone_sees_each_image_once(memory_and_disk_runs):
    """5 epochs, evaluation and export: 120 images through the backbone, no more."""
    memory, disk, seen = memory_and_disk_runs
    assert seen == {"memory": 120, "disk": 120}
    assert not (memory.run_dir / "features").exists()


def test_disk_cache_files_and_keys(memory_and_disk_runs):
    _, disk, _ = memory_and_disk_runs
    sizes = {"train": 66, "validation": 24, "test": 30}
    keys = set()
    for split, n in sizes.items():
        array = np.load(disk.run_dir / "features" / f"{split}.npy")
        assert array.shape == (n, 16) and array.dtype == np.float32
        meta = json.loads((disk.run_dir / "features" / f"{split}.npy.json").read_text())
        assert meta["n"] == n and len(meta["key"]) == 16
        keys.add(meta["key"])
    assert len(keys) == 3  # the items are part of each split's key


def test_disk_mode_gives_the_same_run_as_memory_mode(memory_and_disk_runs):
    memory, disk, _ = memory_and_disk_runs
    for split in ("validation", "test"):
        assert memory.metrics[split]["confusion_matrix"] == disk.metrics[split]["confusion_matrix"]
        assert memory.metrics[split]["accuracy"] == disk.metrics[split]["accuracy"]


def test_second_run_reuses_the_disk_cache(memory_and_disk_runs, counting, colour_folders):
    backbone, count = counting
    _, disk, _ = memory_and_disk_runs
    stamp = (disk.run_dir / "features" / "train.npy").stat().st_mtime_ns
    start = count()
    # A retrain into the same folder (--overwrite) keeps the keyed feature cache.
    again = _train(backbone, colour_folders, disk.run_dir, overwrite=True, embedding_cache="disk")
    assert count() - start == 0
    assert (disk.run_dir / "features" / "train.npy").stat().st_mtime_ns == stamp
    assert again.metrics["test"]["accuracy"] == disk.metrics["test"]["accuracy"]


def test_cache_off_runs_the_backbone_every_epoch(counting, colour_folders, tmp_path):
    backbone, count = counting
    start = count()
    result = _train(backbone, colour_folders, tmp_path / "off", embedding_cache="off",
                    epochs=3)
    assert count() - start >= 3 * 66  # every epoch decodes and embeds the training set
    assert not (tmp_path / "off" / "features").exists()
    assert result.metrics["test"]["accuracy"] >= 0.8


def test_augmentation_turns_the_cache_off(counting, colour_folders, tmp_path):
    backbone, count = counting
    start = count()
    _train(backbone, colour_folders, tmp_path / "aug", embedding_cache="disk", augment=True,
           epochs=2)
    assert count() - start >= 2 * 66
    assert not (tmp_path / "aug" / "features").exists()


# extract_features directly.

@pytest.fixture(scope="module")
def image_dataset(counting, colour_folders):
    backbone, _ = counting
    items = sorted(str(p) for p in colour_folders.rglob("*.png"))[::4]
    ds = get_domain("vision").make_dataset(items, None, backbone.contract,
                                           PipelineOptions(batch_size=7))
    return ds, len(items)


def test_extract_disk_equals_memory_and_is_reused_by_key(counting, image_dataset, tmp_path,
                                                         monkeypatch):
    backbone, count = counting
    ds, n = image_dataset
    memory = extract_features(backbone.model, ds, n, mode="memory")
    assert isinstance(memory, np.ndarray) and memory.shape == (n, 16)
    path = tmp_path / "f.npy"
    disk = extract_features(backbone.model, ds, n, mode="disk", path=path, key="k1")
    assert isinstance(disk, np.memmap)
    np.testing.assert_array_equal(np.asarray(disk), memory)
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]

    def no_backbone(_):
        raise AssertionError("the backbone ran although the cache matched")

    with monkeypatch.context() as patch:
        patch.setattr(features, "_predict_fn", no_backbone)
        np.testing.assert_array_equal(
            np.asarray(extract_features(backbone.model, ds, n, mode="disk", path=path, key="k1")),
            memory)
    start = count()
    extract_features(backbone.model, ds, n, mode="disk", path=path, key="k2")  # new key: recompute
    assert count() - start == n
    assert json.loads((tmp_path / "f.npy.json").read_text()) == {"key": "k2", "n": n}


def test_extract_checks_the_item_count(counting, image_dataset):
    backbone, _ = counting
    ds, n = image_dataset
    with pytest.raises(RuntimeError, match=f"saw {n} items, expected {n + 1}"):
        extract_features(backbone.model, ds, n + 1, mode="memory")


def test_failed_extraction_keeps_the_old_cache(counting, image_dataset, tmp_path, monkeypatch):
    backbone, _ = counting
    ds, n = image_dataset
    path = tmp_path / "f.npy"
    good = np.asarray(extract_features(backbone.model, ds, n, mode="disk", path=path, key="a")).copy()

    def failing(model):
        def call(batch):
            raise OSError("disk full")
        return call

    monkeypatch.setattr(features, "_predict_fn", failing)
    with pytest.raises(OSError, match="disk full"):
        extract_features(backbone.model, ds, n, mode="disk", path=path, key="b")
    np.testing.assert_array_equal(np.load(path), good)
    assert json.loads((tmp_path / "f.npy.json").read_text())["key"] == "a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.npy", "f.npy.json"]


def test_disk_mode_needs_a_path(counting, image_dataset):
    backbone, _ = counting
    ds, n = image_dataset
    with pytest.raises(ValueError, match="needs a path"):
        extract_features(backbone.model, ds, n, mode="disk")


def test_auto_mode_goes_to_disk_above_the_memory_limit():
    assert choose_mode("auto", 1000, (1280,)) == "memory"
    rows = features.MEMORY_LIMIT_BYTES // (4 * 1280) + 1
    assert choose_mode("auto", rows, (1280,)) == "disk"
    assert choose_mode("memory", rows, (1280,)) == "memory"


def test_fingerprint_is_stable_and_sensitive():
    from transferkit.common.config import BackboneConfig

    a = fingerprint(BackboneConfig("x"), ["a.png", "b.png"])
    assert a == fingerprint(BackboneConfig("x"), ["a.png", "b.png"]) and len(a) == 16
    assert a != fingerprint(BackboneConfig("x"), ["b.png", "a.png"])
    assert a != fingerprint(dataclasses.replace(BackboneConfig("x"), weights=None),
                            ["a.png", "b.png"])


def test_one_traced_call_per_backbone_across_splits():
    # Every split and phase reuses one traced call (a ragged last batch adds one relaxed
    # trace, not one per split), and the cache does not keep a dropped backbone alive.
    import gc
    import weakref

    from transferkit.common.keras import keras, tf

    inputs = keras.Input((8,))
    model = keras.Model(inputs, keras.layers.Dense(4)(inputs))
    for n in (100, 37, 64, 5):
        x = np.random.default_rng(n).random((n, 8), dtype=np.float32)
        got = extract_features(model, tf.data.Dataset.from_tensor_slices(x).batch(32), n)
        np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=1e-5)
    assert features._TRACED[model].experimental_get_tracing_count() <= 2
    alive = weakref.ref(model)
    del model
    gc.collect()
    assert alive() is None


def test_several_backbones_do_not_set_off_the_retracing_notice():
    # A recipe extracts with several backbones in a row (pretrained, random init, ...): each
    # is traced by design, so TF's "triggered tf.function retracing" notice is noise here.
    import logging

    from transferkit.common.keras import keras, tf

    seen = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    tf.get_logger().addHandler(handler)
    try:
        for _ in range(5):
            inputs = keras.Input((8,))
            model = keras.Model(inputs, keras.layers.Dense(4)(inputs))
            for n in (70, 37, 5):
                x = np.random.default_rng(n).random((n, 8), dtype=np.float32)
                extract_features(model, tf.data.Dataset.from_tensor_slices(x).batch(32), n)
    finally:
        tf.get_logger().removeHandler(handler)
    assert not [m for m in seen if "retracing" in m]


def test_the_head_fitters_fresh_keras_functions_are_quiet_too():
    # The head fitters compile a fresh head per candidate; Keras makes new predict/train
    # functions for each, and TF then logs "N out of the last M calls to <function
    # Model.make_predict_function.<locals>.predict_function ...> triggered tf.function
    # retracing" (seen in the demo). The filter drops exactly those notices.
    import logging

    def record(message):
        return logging.LogRecord("tensorflow", logging.WARNING, __file__, 1, message, None, None)

    notice = ("5 out of the last 7 calls to <function Model.make_{}_function.<locals>.{}_"
              "function at 0x7f> triggered tf.function retracing. Tracing is expensive ...")
    keep = features._OwnRetracingNotice().filter
    assert not keep(record(notice.format("predict", "predict")))
    assert not keep(record(notice.format("train", "train")))
    assert keep(record(notice.replace("Model.make_{}_function.<locals>.{}_function", "my_step")))
    assert keep(record("an unrelated warning"))
    features.quiet_own_retracing_notices()
    features.quiet_own_retracing_notices()
    from transferkit.common.keras import tf

    assert sum(isinstance(f, features._OwnRetracingNotice) for f in tf.get_logger().filters) == 1
