"""Resume: an interrupted run continues from its last epoch's weights instead of restarting.

What :mod:`transferkit.common.train.phases` promises: after every epoch ``checkpoints/state.json``
holds ``{phase: {"epoch": n, "done": false}}`` and ``<phase>_last_weights.h5`` the weights;
``resume=True`` loads them and fits from epoch ``n``; a phase marked done is not trained
again, its final weights are loaded.
"""
import csv
import json

import numpy as np
import pytest

from transferkit.common.train import callbacks as cb
from tests.common.conftest import TINY, run_config


class Interrupted(Exception):
    pass


@pytest.fixture
def recorder(monkeypatch):
    """Swaps in a ResumeState that records epochs and start weights, and can interrupt."""
    log = {"epochs": [], "start": {}, "stop_after": None, "stopped_with": None,
           "raise": Interrupted}

    class Recording(cb.ResumeState):
        def on_train_begin(self, logs=None):
            log["start"][self.phase] = [w.copy() for w in self.model.get_weights()]

        def on_epoch_end(self, epoch, logs=None):
            super().on_epoch_end(epoch, logs)  # saves the weights and state.json first
            log["epochs"].append((self.phase, epoch))
            if log["stop_after"] == (self.phase, epoch + 1):
                log["stopped_with"] = [w.copy() for w in self.model.get_weights()]
                raise log["raise"]()

    monkeypatch.setattr(cb, "ResumeState", Recording)
    return log


def _history(run_dir):
    return [(r["phase"], int(r["epoch"])) for r in csv.DictReader(
        (run_dir / "history.csv").open())]


def _state(run_dir):
    return json.loads((run_dir / "checkpoints" / "state.json").read_text())


def _same(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def test_interrupted_phase1_resumes_from_its_last_epoch(tiny_backbone, colour_folders,
                                                        tmp_path, recorder):
    from transferkit.common.output.rundir import load
    from transferkit.common.train.trainer import train_run

    # head_fit="epochs": a solved head (the default) has no epochs to resume from
    config, out = run_config(colour_folders, epochs=8, head_fit="epochs"), tmp_path / "run"
    recorder["stop_after"] = ("phase1", 4)
    with pytest.raises(Interrupted):
        train_run(config, out, verbose=0)
    assert _state(out) == {"phase1": {"epoch": 4, "done": False}}
    assert (out / "checkpoints" / "phase1_last_weights.h5").is_file()
    assert not (out / "metrics.json").exists()
    with pytest.raises(FileNotFoundError, match="not a finished transferkit run"):
        load(out)

    recorder.update(epochs=[], stop_after=None)
    result = train_run(config, out, verbose=0, resume=True)
    assert recorder["epochs"] == [("phase1", e) for e in range(4, 8)]  # not from 0
    assert _same(recorder["start"]["phase1"], recorder["stopped_with"])
    assert _history(out) == [("phase1", e) for e in range(8)]
    assert _state(out) == {"phase1": {"done": True}}
    assert result.metrics["test"]["accuracy"] >= 0.8

    recorder.update(epochs=[], start={})  # a finished run: nothing left to train
    again = train_run(config, out, verbose=0, resume=True)
    assert recorder["epochs"] == [] and recorder["start"] == {}
    assert again.metrics["test"] == result.metrics["test"]


def test_without_resume_a_run_starts_over(tiny_backbone, colour_folders, tmp_path, recorder):
    from transferkit.common.train.trainer import train_run

    config, out = run_config(colour_folders, epochs=3, head_fit="epochs"), tmp_path / "run"
    train_run(config, out, verbose=0)
    recorder["epochs"].clear()
    with pytest.raises(FileExistsError, match=f"{out} holds a finished run.*--overwrite"):
        train_run(config, out, verbose=0)
    assert recorder["epochs"] == []
    train_run(config, out, verbose=0, overwrite=True)
    assert recorder["epochs"] == [("phase1", e) for e in range(3)]
    assert _history(out) == [("phase1", e) for e in range(3)]


def test_cli_resume_continues_phase2_from_the_run_config(tiny_backbone, colour_folders,
                                                         tmp_path, recorder, capsys):
    """Ctrl-C in phase 2, then ``transferkit train --out RUN --resume`` with no other flags."""
    from transferkit.common.cli.parser import main

    out = tmp_path / "run"
    recorder.update(stop_after=("phase2", 2), **{"raise": KeyboardInterrupt})
    code = main(["train", "--data", str(colour_folders), "--backbone", TINY, "--weights",
                 "none", "--epochs", "3", "--head-fit", "epochs", "--fine-tune-epochs", "4", "--unfreeze-top", "3",
                 "--learning-rate", "0.03", "--batch-size", "16", "--dropout", "0",
                 "--early-stopping-patience", "0", "--out", str(out)])
    assert code == 130
    assert "resume a training run with --resume" in capsys.readouterr().err
    assert _state(out) == {"phase1": {"done": True}, "phase2": {"epoch": 2, "done": False}}

    recorder.update(epochs=[], start={}, stop_after=None)
    assert main(["train", "--out", str(out), "--resume"]) == 0
    assert recorder["epochs"] == [("phase2", 2), ("phase2", 3)]  # phase 1 not retrained
    # The whole model restarts where it stopped, fine-tuned backbone weights included.
    assert _same(recorder["start"]["phase2"], recorder["stopped_with"])
    assert _history(out) == [("phase1", e) for e in range(3)] + [("phase2", e)
                                                                 for e in range(4)]
    assert _state(out) == {"phase1": {"done": True}, "phase2": {"done": True}}
    assert json.loads((out / "metrics.json").read_text())["test"]["accuracy"] >= 0.8
