"""The learning-rate finder: the exponential sweep, its suggestion, ``transferkit lr-find``
and ``train --learning-rate auto``."""
import json

import numpy as np
import pytest

from tests.common.conftest import TINY, run_config


def _blobs(n=300, dim=8, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    centres = rng.normal(0, 1, (classes, dim))  # overlapping: no rate drives the loss to 0
    return (centres[y] + rng.normal(0, 1, (n, dim))).astype(np.float32), y


def _head(dim=8, classes=3):
    from transferkit.common.config import HeadConfig
    from transferkit.common.model.heads import build_head

    return build_head((dim,), HeadConfig(dropout=0.0), classes)


def test_schedule_is_exponential():
    from transferkit.common.train.lr_find import schedule

    rates = schedule()
    assert len(rates) == 100 and rates[0] == pytest.approx(1e-7) and rates[-1] == pytest.approx(10)
    ratios = rates[1:] / rates[:-1]
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-9)
    with pytest.raises(ValueError, match="start < end"):
        schedule(1.0, 0.1)


def test_sweep_finds_a_rate_that_trains_the_head():
    from transferkit.common.model.heads import adapt_head, loss_and_metrics
    from transferkit.common.train.lr_find import find_learning_rate
    from transferkit.common.train.optim import make_optimizer

    x, y = _blobs()
    head = _head()
    adapt_head(head, x)
    found = find_learning_rate(head, x, y, loss_and_metrics("multiclass")[0], batch_size=16,
                               steps=60)
    assert found.suggestion == pytest.approx(found.min_lr / 10)
    assert 1e-5 < found.suggestion <= 1.0 and len(found.lrs) <= 60
    assert min(found.smoothed) < found.smoothed[0]
    fresh = _head()
    adapt_head(fresh, x)
    loss, metrics = loss_and_metrics("multiclass")
    fresh.compile(optimizer=make_optimizer(found.suggestion), loss=loss, metrics=metrics)
    fresh.fit(x, y, epochs=5, batch_size=16, verbose=0)
    assert fresh.evaluate(x, y, verbose=0)[1] > 0.6  # chance is 1/3


def test_sweep_stops_once_the_loss_diverges():
    from transferkit.common.config import HeadConfig
    from transferkit.common.model.heads import build_head, loss_and_metrics
    from transferkit.common.train.lr_find import find_learning_rate

    x, y = _blobs(dim=16)
    head = build_head((16,), HeadConfig(units=(256, 256), dropout=0.0), 3)
    found = find_learning_rate(head, x * 10, y, loss_and_metrics("multiclass")[0])
    assert found.stopped_early and len(found.lrs) < 100
    assert found.smoothed[-1] > 4 * min(found.smoothed)


def test_rate_flags_and_config_accept_auto_only():
    from transferkit.common.cli.parser import build_parser
    from transferkit.common.config import TrainConfig, from_dict

    parser = build_parser()
    args = parser.parse_args(["train", "--learning-rate", "auto"])
    assert args.train__learning_rate == "auto"
    assert parser.parse_args(["train", "--learning-rate", "0.01"]).train__learning_rate == 0.01
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--learning-rate", "fast"])
    assert TrainConfig(learning_rate="auto").learning_rate == "auto"
    with pytest.raises(ValueError, match="positive number or 'auto'"):
        TrainConfig(learning_rate="fast")
    with pytest.raises(ValueError, match="scale_learning_rate"):
        TrainConfig(learning_rate="auto", scale_learning_rate=True)
    assert from_dict({"train": {"learning_rate": "auto"}}).train.learning_rate == "auto"
    with pytest.raises(ValueError, match='a number or "auto"'):
        from_dict({"train": {"learning_rate": [1]}})


def test_lr_find_cli_writes_the_plot_and_json(tiny_backbone, colour_folders, tmp_path, capsys):
    from transferkit.common.cli.parser import main

    out = tmp_path / "lr"
    assert main(["lr-find", "--data", str(colour_folders), "--backbone", TINY, "--weights",
                 "none", "--domain", "vision", "--out", str(out), "--steps", "60",
                 "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    saved = json.loads((out / "lr_find.json").read_text())
    assert saved["suggestion"] == printed["suggestion"] > 0
    assert len(saved["lrs"]) == printed["steps"] <= 60
    assert (out / "lr_find.png").read_bytes()[:4] == b"\x89PNG"


def test_train_with_auto_learning_rate_records_the_choice(tiny_backbone, colour_folders,
                                                          tmp_path):
    from transferkit.common.train.trainer import train_run

    config = run_config(colour_folders, learning_rate="auto", head_fit="epochs", epochs=8)
    result = train_run(config, tmp_path / "run", verbose=0)
    chosen = result.metrics["lr_find"]["learning_rate"]
    assert isinstance(chosen, float) and chosen > 0
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["train"]["learning_rate"] == chosen  # a resume trains with the same rate
    manifest = json.loads((tmp_path / "run" / "run.json").read_text())["files"]
    assert {"lr_find.png", "lr_find.json"} <= set(manifest)
    assert result.metrics["test"]["accuracy"] > 0.5  # three colours: chance is 1/3
