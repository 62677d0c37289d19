"""tf.distribute on one machine: two logical CPU devices (mirrored) and two loopback
workers (multi-worker), each in its own process, bounded in time.

Agreement (measured): mirrored over two devices against one device, the validation and test
outputs of the same seeded run differ by at most about 1e-8 in every domain; the test allows
1e-5. The multi-worker run's sharded, all-gathered embedding cache equals the one-process
cache exactly.
"""
import csv
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.common.conftest import COLOURS, colour_image, write_folders
from transferkit.common.train import distribute

ROOT = Path(__file__).resolve().parents[2]
ATOL = 1e-5


def _env(**extra) -> dict:
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "2", **extra}
    env.pop("TF_CONFIG", None)
    return {**env, **extra}


def _worker(mode, domain, data, out, *more, **env):
    return subprocess.Popen([sys.executable, "-m", "tests.common.distribute_worker", mode,
                             domain, str(data), str(out), *map(str, more)], cwd=ROOT,
                            env=_env(**env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def _finish(procs, timeout: float) -> list[str]:
    """Wait for every process; on a timeout or a failure kill them all and fail."""
    logs = []
    try:
        for proc in procs:
            logs.append(proc.communicate(timeout=timeout)[0])
    except subprocess.TimeoutExpired:
        pytest.fail(f"distributed training did not end within {timeout} s")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for proc, log in zip(procs, logs):
        assert proc.returncode == 0, log[-3000:]
    return logs


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Learnable data of each domain: colour images, sentiment texts, tones/noise/chirps."""
    from tests.nlp.conftest import sentiment_texts, write_text_csv, write_tiny_bert
    from tests.speech.conftest import write_synthetic_sounds

    root = tmp_path_factory.mktemp("distribute")
    texts, labels = sentiment_texts(160)
    write_text_csv(root / "texts.csv", texts, labels)
    write_tiny_bert(root / "bert")
    _no_dropout(root / "bert" / "config.json")
    return {"vision": (write_folders(root / "colours", COLOURS, colour_image, per_class=40),),
            "text": (root / "texts.csv", root / "bert"),
            "speech": (write_synthetic_sounds(root / "sounds", per_class=16),)}


def _no_dropout(config_json: Path) -> None:
    """BERT's dropout draws different masks on one device and on two replicas: off, the
    two trainings see the same computation."""
    config = json.loads(config_json.read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    config_json.write_text(json.dumps(config))


@pytest.fixture(scope="module")
def mirrored_runs(data, tmp_path_factory):
    """Every domain trained on one device and mirrored over two: one process each."""
    out = tmp_path_factory.mktemp("mirrored")
    procs = [_worker("mirrored", domain, args[0], out / domain, *args[1:])
             for domain, args in data.items()]
    _finish(procs, timeout=400)
    return out


@pytest.mark.parametrize("domain", ["vision", "text", "speech"])
def test_mirrored_agrees_with_one_device(mirrored_runs, domain):
    runs = {s: mirrored_runs / domain / s for s in ("default", "mirrored")}
    metrics = {s: json.loads((p / "metrics.json").read_text()) for s, p in runs.items()}
    assert metrics["mirrored"]["distribute"]["strategy"] == "MirroredStrategy"
    assert metrics["mirrored"]["distribute"]["replicas"] == 2
    assert metrics["default"]["distribute"]["replicas"] == 1
    one, two = (np.load(p / "predictions.npz") for p in runs.values())
    for split in ("validation", "test"):
        np.testing.assert_allclose(two[f"{split}_outputs"], one[f"{split}_outputs"], atol=ATOL)
    history = {s: list(csv.DictReader((p / "history.csv").open())) for s, p in runs.items()}
    assert {r["phase"] for r in history["mirrored"]} == {"phase1", "phase2"}
    for a, b in zip(history["default"], history["mirrored"]):
        assert float(b["loss"]) == pytest.approx(float(a["loss"]), rel=1e-4, abs=1e-6)
    assert metrics["mirrored"]["test"]["accuracy"] > 0.6  # three balanced classes


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def test_two_loopback_workers_train_one_run(data, mirrored_runs, tmp_path):
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    out = tmp_path / "run"
    procs = [_worker("multiworker", "vision", data["vision"][0], out, TF_CONFIG=json.dumps(
        {"cluster": cluster, "task": {"type": "worker", "index": i}})) for i in range(2)]
    logs = _finish(procs, timeout=400)
    manifest = json.loads((out / "run.json").read_text())  # the chief's run is complete
    for name in ("saved_model", "model_weights.h5", "metrics.json", "report.html"):
        assert any(f.startswith(name) for f in manifest["files"]), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["distribute"]["strategy"] == "MultiWorkerMirroredStrategy"
    assert metrics["distribute"]["workers"] == 2 and metrics["distribute"]["task"] == "worker:0"
    assert metrics["test"]["accuracy"] > 0.6
    n_train = sum(metrics["class_balance"]["counts"].values())
    shares = [int(line.split("reads ")[1].split()[0]) for log in logs for line in
              log.splitlines() if "multi-worker: this worker reads" in line]
    assert sorted(shares) == [n_train // 2, n_train - n_train // 2]  # phase 2: by files
    worker_dirs = [line.split("report: ")[1].strip() for line in logs[1].splitlines()
                   if "report: " in line]
    assert worker_dirs and not Path(worker_dirs[0]).exists()  # worker 1 wrote, then removed
    assert not Path(worker_dirs[0]).is_relative_to(out)
    single = np.load(mirrored_runs / "vision" / "default" / "predictions.npz")
    merged = np.load(out / "predictions.npz")  # the sharded, all-gathered embedding cache
    np.testing.assert_array_equal(merged["map_features"], single["map_features"])


def test_tf_config_roles():
    spec = {"cluster": {"chief": ["a:1"], "worker": ["b:1", "c:1"]}}
    chief = distribute.read_tf_config({"TF_CONFIG": json.dumps({**spec, "task": {
        "type": "chief", "index": 0}})})
    worker = distribute.read_tf_config({"TF_CONFIG": json.dumps({**spec, "task": {
        "type": "worker", "index": 0}})})
    assert chief.is_chief and chief.workers == 3 and chief.rank == 0
    assert not worker.is_chief and worker.rank == 1
    assert distribute.read_tf_config({}) is None
    with pytest.raises(ValueError, match="TF_CONFIG is not a valid cluster spec"):
        distribute.read_tf_config({"TF_CONFIG": "{not json"})


def test_multiworker_without_tf_config_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="needs TF_CONFIG"):
        distribute.make_strategy("multiworker")


def test_linear_scaling_rule_scales_once():
    from transferkit.common.config import RunConfig, TrainConfig

    config = RunConfig(train=TrainConfig(batch_size=128, learning_rate=1e-3,
                                         fine_tune_learning_rate=1e-4, scale_learning_rate=True))
    trained = distribute.scaled_config(config, log=lambda msg: None)
    assert trained.train.learning_rate == pytest.approx(4e-3)
    assert trained.train.fine_tune_learning_rate == pytest.approx(4e-4)
    assert distribute.scaled_config(trained).train.learning_rate == pytest.approx(4e-3)
    assert distribute.record(None, config, trained)["scaled_learning_rate"] is True


def test_unknown_strategy_names_the_field():
    from transferkit.common.config import TrainConfig

    with pytest.raises(ValueError, match="train.strategy must be one of"):
        TrainConfig(strategy="horovod")
