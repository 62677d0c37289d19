"""A run killed part-way (SIGKILL) resumes exactly, and run directories are whole or refused.

The kill test trains the tiny backbone's head in subprocesses (op determinism on): one run
uninterrupted; one killed after its 4th epoch's checkpoint, then resumed. Weights, optimizer
state and the shuffle order of each epoch are restored, so the histories and the final
metrics agree to ``rtol=1e-6`` (in practice bit for bit), and no epoch is lost or repeated.
"""
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.common.kill_resume_worker import EPOCHS

ROOT = Path(__file__).resolve().parents[2]


def _worker(data, out, *flags):
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.Popen([sys.executable, "-m", "tests.common.kill_resume_worker", str(data),
                             str(out), *flags], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def _finish(proc):
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-3000:]
    return err


def _kill_after_epoch(proc, out, epoch: int) -> None:
    state, deadline = out / "checkpoints" / "state.json", time.time() + 90
    while time.time() < deadline and proc.poll() is None:
        try:
            if json.loads(state.read_text())["phase1"]["epoch"] >= epoch:
                break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def _history(run):
    return list(csv.DictReader((run / "history.csv").open()))


def _numbers(d, prefix=""):
    out = {}
    for key, value in d.items():
        if isinstance(value, dict):
            out.update(_numbers(value, f"{prefix}{key}."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[prefix + key] = float(value)
    return out


def test_sigkilled_run_resumes_to_the_uninterrupted_result(colour_folders, tmp_path):
    from transferkit.common.output.rundir import load

    whole, cut = tmp_path / "whole", tmp_path / "cut"
    reference = _worker(colour_folders, whole)
    victim = _worker(colour_folders, cut, "--slow", "0.5")
    _kill_after_epoch(victim, cut, 4)
    stale = cut / "checkpoints" / f".phase1_last_weights.h5.tmp-{victim.pid}"
    stale.write_bytes(b"half a file")  # what a kill during a save leaves
    with pytest.raises(FileNotFoundError, match="not a finished transferkit run"):
        load(cut)
    log = _finish(_worker(colour_folders, cut, "--resume"))
    _finish(reference)
    resumed_at = re.search(r"resume: phase1 from epoch (\d+) \(weights and optimizer state\)",
                           log)
    assert resumed_at and int(resumed_at.group(1)) >= 4, log[-2000:]  # not started over

    assert not stale.exists()
    rows, expected = _history(cut), _history(whole)
    assert [(r["phase"], int(r["epoch"])) for r in rows] == [("phase1", e) for e in range(EPOCHS)]
    for got, want in zip(rows, expected):
        np.testing.assert_allclose([float(got[k]) for k in want if k != "phase"],
                                   [float(want[k]) for k in want if k != "phase"], rtol=1e-6)
    metrics = [_numbers({k: m[k] for k in ("validation", "test", "calibration")})
               for m in (json.loads((run / "metrics.json").read_text()) for run in (cut, whole))]
    assert metrics[0].keys() == metrics[1].keys()
    np.testing.assert_allclose([metrics[0][k] for k in metrics[1]], list(metrics[1].values()),
                               rtol=1e-6, atol=1e-9)
    print(f"\nkilled after epoch {resumed_at.group(1)}; resumed test "
          f"{metrics[0]['test.accuracy']:.6f} / uninterrupted "
          f"{metrics[1]['test.accuracy']:.6f} accuracy; final val_loss "
          f"{rows[-1]['val_loss']} / {expected[-1]['val_loss']}")
    assert load(cut).labels == load(whole).labels


def test_a_finished_run_needs_overwrite_and_its_manifest(colour_run, colour_folders, tmp_path,
                                                         capsys):
    from transferkit.common.cli.parser import main
    from transferkit.common.output.rundir import load

    run = tmp_path / "run"
    shutil.copytree(colour_run.result.run_dir, run)
    assert main(["train", "--data", str(colour_folders), "--backbone", "tiny_cnn_test",
                 "--weights", "none", "--out", str(run)]) == 2
    err = capsys.readouterr().err
    assert f"{run} holds a finished run" in err and "--overwrite" in err
    assert load(run).labels == colour_run.result.labels  # untouched
    (run / "run.json").unlink()
    with pytest.raises(FileNotFoundError, match="run.json is missing.*--resume"):
        load(run)


def test_a_second_trainer_is_refused_naming_the_first(tiny_backbone, colour_folders, tmp_path):
    from tests.common.conftest import run_config
    from transferkit.common.train.run_guard import RunDirBusyError, hold_run_dir
    from transferkit.common.train.trainer import train_run

    out = tmp_path / "run"
    with hold_run_dir(out):
        with pytest.raises(RunDirBusyError, match=f"{out} is in use.*pid {os.getpid()}"):
            train_run(run_config(colour_folders, epochs=1), out, verbose=0)
    assert not (out / ".transferkit.lock").exists()


def test_resume_takes_the_run_directory_as_its_value(tmp_path):
    from transferkit.common.cli.parser import build_parser
    from transferkit.common.cli.commands import _resume_args

    args = _resume_args(build_parser().parse_args(["train", "--resume", str(tmp_path / "x")])
                        ) if (tmp_path / "x" / "config.json").exists() else None
    assert args is None
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "config.json").write_text("{}")
    args = _resume_args(build_parser().parse_args(["train", "--resume", str(tmp_path / "x")]))
    assert (args.out, args.resume) == (str(tmp_path / "x"), True)
    with pytest.raises(FileNotFoundError, match="config.json is missing"):
        _resume_args(build_parser().parse_args(["train", "--resume", str(tmp_path / "y")]))


def test_a_new_training_removes_the_old_runs_files_and_keeps_the_users(tmp_path):
    from transferkit.common.train.run_guard import start_run

    run = tmp_path / "run"
    (run / "features").mkdir(parents=True)
    stale = ("adaptation.json", "data_checks.json", "lr_find.json", "lr_find.png",
             "lora_adapters.npz", "lora.json", "metrics.json", "curves.png")
    for name in (*stale, "notes.txt", "features/train.npy"):
        (run / name).write_text("x")
    start_run(run, overwrite=True, resume=False)
    assert not [n for n in stale if (run / n).exists()]  # a retrain never reports old figures
    assert (run / "notes.txt").exists() and (run / "features" / "train.npy").exists()
    (run / "adaptation.json").write_text("x")
    start_run(run, overwrite=False, resume=True)  # a resume keeps what it resumes
    assert (run / "adaptation.json").exists()
