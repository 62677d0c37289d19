"""The ``transferkit`` command line, run in-process through ``cli.main``."""
import json
import shutil
import re

import pytest

from transferkit.common.cli.parser import main
from tests.common.conftest import COLOURS, TINY

VERBS = ("train", "evaluate", "predict", "export", "report", "compare", "backbones", "weights",
         "recipe", "data")


@pytest.fixture(scope="module")
def cli_run(tiny_backbone, colour_folders, tmp_path_factory):
    """``transferkit train`` through the registry: backbone built from its name."""
    out = tmp_path_factory.mktemp("cli") / "run"
    code = main(["train", "--data", str(colour_folders), "--backbone", TINY, "--weights", "none",
                 "--epochs", "30", "--learning-rate", "0.03", "--batch-size", "16",
                 "--dropout", "0", "--early-stopping-patience", "0", "--test-split", "0.25",
                 "--validation-split", "0.2", "--out", str(out)])
    assert code == 0
    return out


def test_train_writes_a_run_and_reports(cli_run, capsys):
    from transferkit.common.config import load_config

    config = load_config(cli_run / "config.json")
    assert config.domain == "vision"  # implied by the backbone's registration
    assert config.backbone.name == TINY and config.backbone.weights is None
    assert (config.train.epochs, config.train.batch_size) == (30, 16)
    assert config.train.learning_rate == 0.03 and config.head.dropout == 0.0
    metrics = json.loads((cli_run / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.8
    assert (cli_run / "saved_model" / "saved_model.pb").is_file()


def test_evaluate_on_held_out_folder(cli_run, colour_holdout, capsys):
    assert main(["evaluate", str(cli_run), "--data", str(colour_holdout)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("18 examples: accuracy=")
    assert float(re.search(r"accuracy=([\d.]+)", out).group(1)) >= 0.8
    for colour in COLOURS:
        assert re.search(rf"{colour}\s+P=[\d.]+ R=[\d.]+ F1=[\d.]+ n=6", out), out
    written = list((cli_run / "evaluations").glob("*.json"))
    assert len(written) == 1 and written[0].name.endswith("colours_holdout.json")
    saved = json.loads(written[0].read_text())
    assert saved["data"] == str(colour_holdout) and saved["n"] == 18
    assert sum(map(sum, saved["confusion_matrix"])) == 18


def test_predict_files_and_folders(cli_run, colour_holdout, capsys):
    red = sorted((colour_holdout / "red").glob("*.png"))
    assert main(["predict", str(cli_run), str(red[0]), str(colour_holdout / "green")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 + 6  # the file, then the folder's six images
    path, label, score = lines[0].split("\t")
    assert path == str(red[0]) and label == "red" and 1 / 3 <= float(score) <= 1.0
    assert sum(line.split("\t")[1] == "green" for line in lines[1:]) >= 5
    assert main(["predict", str(cli_run), str(red[1]), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["input"] == str(red[1]) and row["label"] in COLOURS
    assert isinstance(row["score"], float)


def test_predict_top_k_csv_and_labelled_data(cli_run, colour_holdout, tmp_path, capsys):
    import csv

    out_csv = tmp_path / "predictions.csv"
    assert main(["predict", str(cli_run), "--data", str(colour_holdout), "--top-k", "3",
                 "--csv", str(out_csv)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert len(lines) == 18
    cells = lines[0].split("\t")  # input, label, then the three labels with their scores
    assert len(cells) == 6 and cells[-1].startswith("true=")
    scores = [float(c.split(":")[1]) for c in cells[2:5]]
    assert scores == sorted(scores, reverse=True) and abs(sum(scores) - 1) < 1e-3
    accuracy = float(re.search(r"accuracy ([\d.]+) \((\d+)/18\)", captured.err).group(1))
    assert accuracy >= 0.8
    rows = list(csv.DictReader(out_csv.open()))
    assert len(rows) == 18 and set(rows[0]) >= {"input", "label", "score", "true", "label_3"}
    assert sum(r["label"] == r["true"] for r in rows) / 18 == accuracy


def test_a_run_repeats_from_its_config_and_summarises_as_json(cli_run, tmp_path, capsys):
    """Every run saves its resolved config; ``train --config RUN/config.json`` repeats it."""
    from transferkit.common.config import load_config

    again = tmp_path / "again"
    assert main(["train", "--config", str(cli_run / "config.json"), "--out", str(again),
                 "--json"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert captured.err == ""  # --json implies --quiet: stdout is the JSON alone
    assert load_config(again / "config.json") == load_config(cli_run / "config.json")
    first = json.loads((cli_run / "metrics.json").read_text())
    assert summary["test"]["accuracy"] == first["test"]["accuracy"]
    assert summary["run_dir"] == str(again) and "metrics.json" in summary["files"]
    assert summary["phase1"]["solver"] == "adam" or summary["phase1"]["chosen"]


def test_quiet_train_prints_only_the_summary(tiny_backbone, colour_folders, tmp_path, capsys):
    out = tmp_path / "quiet"
    assert main(["train", "--data", str(colour_folders), "--backbone", TINY, "--weights",
                 "none", "--out", str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    lines = captured.out.splitlines()
    assert [line.split()[0] for line in lines[:2]] == ["run", "backbone"]
    assert lines[0].split()[-1] == str(out) and lines[-1].startswith("files ")
    assert any(line.startswith("test ") and "accuracy=" in line for line in lines)
    assert any(line.startswith("calibrated temperature") for line in lines), lines


def test_the_run_keeps_predictions_and_calibration(cli_run):
    import numpy as np

    saved = np.load(cli_run / "predictions.npz")
    metrics = json.loads((cli_run / "metrics.json").read_text())
    for split in ("validation", "test"):
        outputs, targets = saved[f"{split}_outputs"], saved[f"{split}_targets"]
        assert outputs.shape == (metrics[split]["n"], 3) and len(targets) == len(outputs)
        assert np.mean(outputs.argmax(1) == targets) == metrics[split]["accuracy"]
        assert all(item.endswith(".png") for item in saved[f"{split}_items"])
    calibration = json.loads((cli_run / "calibration.json").read_text())
    assert calibration["temperature"] > 0 and calibration == metrics["calibration"]
    assert {"ece_before", "ece_after", "test_ece_before", "test_ece_after"} <= set(calibration)


def test_report_and_compare(cli_run, tmp_path, capsys):
    """Training wrote report.html; ``report`` rewrites it, ``compare`` sets runs side by side."""
    page = cli_run / "report.html"
    assert page.is_file() and "Confusion matrix" in page.read_text()
    page.unlink()
    assert main(["report", str(cli_run)]) == 0
    assert capsys.readouterr().out.strip() == str(page) and page.is_file()
    for name in ("curves.png", "confusion_matrix.png", "reliability.png", "feature_map.png",
                 "worst_examples.png"):
        assert (cli_run / name).stat().st_size > 1000, name
    longer = tmp_path / "longer"
    assert main(["train", "--config", str(cli_run / "config.json"), "--out", str(longer),
                 "--epochs", "31", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["compare", str(cli_run), str(longer)]) == 0
    table = capsys.readouterr().out
    assert re.search(r"train\.epochs\s+30\s+31", table), table
    assert re.search(r"test accuracy\s+[\d.]+\s+[\d.]+", table), table
    assert main(["compare", str(cli_run), str(tmp_path / "nope")]) == 2
    assert "nope" in capsys.readouterr().err


def test_predict_missing_file_is_named(cli_run, tmp_path, capsys):
    assert main(["predict", str(cli_run), str(tmp_path / "nope.png")]) != 0
    assert "nope.png" in capsys.readouterr().err


def test_export_tflite_from_the_cli_checks_parity(cli_run, capsys):
    assert main(["export", str(cli_run), "--format", "tflite"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("exported tflite to ") and "labels.txt" in out, out
    folder = cli_run / "export" / "tflite"
    assert (folder / "labels.txt").is_file() and (folder / "parity.json").is_file()


def test_backbones_lists_the_registered_tiny_one(tiny_backbone, capsys):
    assert main(["backbones", "--domain", "vision"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:6] == ["name", "domain", "input", "features", "params", "weights"]
    mine = [line for line in lines if line.startswith(TINY + " ")]
    assert len(mine) == 1 and "tiny random CNN" in mine[0]
    # conv 224 + bn 32 + conv 1168 + bn 64 + conv 2320 = 3808 parameters, 16 features
    assert mine[0].split()[1:8] == ["vision", "image", "32px", "x3", "(unit)", "16", "4k"]
    assert "given as --weights" in mine[0]
    assert any(line.startswith("mobilenet_v2 ") for line in lines)
    assert main(["backbones", "--domain", "text", "--no-sizes"]) == 0
    assert TINY not in capsys.readouterr().out
    assert main(["backbones", "--domain", "vision", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert (rows[TINY]["features"], rows[TINY]["params"]) == (16, 3808)


def test_backbones_say_whether_weights_are_on_this_machine(tmp_path, monkeypatch):
    from transferkit.common.model.inventory import offline_status
    from transferkit.common.model.registry import get_backbone_spec

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    spec = get_backbone_spec("vgg16")
    assert offline_status(spec) == "no: downloads from Keras storage"
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5").write_bytes(b"")
    assert offline_status(spec) == "yes (imagenet)"
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert offline_status(get_backbone_spec("roberta_base")) == \
        "no: downloads from the Hugging Face Hub"
    hf = get_backbone_spec("roberta_base").weight_sources[0].handle
    (tmp_path / "hf" / "hub" / f"models--{hf.replace('/', '--')}").mkdir(parents=True)
    assert offline_status(get_backbone_spec("roberta_base")) == "yes (hf)"


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_has_help(verb, capsys):
    with pytest.raises(SystemExit) as info:
        main([verb, "--help"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: transferkit {verb}")


def test_the_examples_in_train_help_parse(capsys):
    """``--units`` once showed ``(128,)``, which the parser rejects."""
    from transferkit.common.cli.parser import build_parser

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    example = re.search(r"--units UNITS Hidden Dense layer sizes, e.g. (\S+) or (\S+) "
                        r"\(separated by commas\)", help_text)
    assert example, help_text[:2000]
    for given in example.groups():
        args = build_parser().parse_args(["train", "--out", "x", "--units", given])
        assert args.head__units == tuple(int(u) for u in given.split(","))


def test_train_help_is_generated_from_the_configs(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    for flag in ("--fine-tune-epochs", "--backbone-lr-multiplier", "--unfreeze-top",
                 "--embedding-cache", "--dropout", "--validation-split", "--resume"):
        assert flag in out, flag


def test_no_verb_prints_help(capsys):
    assert main([]) == 0
    assert "usage: transferkit" in capsys.readouterr().out


def test_missing_data_path_is_named(tiny_backbone, tmp_path, capsys):
    missing = tmp_path / "no_such_folder"
    code = main(["train", "--data", str(missing), "--backbone", TINY, "--weights", "none",
                 "--out", str(tmp_path / "run")])
    assert code != 0
    err = capsys.readouterr().err
    assert "transferkit train: error:" in err and str(missing) in err
    assert "Traceback" not in err


def test_unknown_backbone_is_a_clear_error(tmp_path, colour_folders, capsys):
    code = main(["train", "--data", str(colour_folders), "--backbone", "mobilenet_v9",
                 "--out", str(tmp_path / "run")])
    assert code != 0
    assert "unknown backbone 'mobilenet_v9'" in capsys.readouterr().err


def test_evaluate_a_folder_that_is_not_a_run(tmp_path, colour_holdout, capsys):
    assert main(["evaluate", str(tmp_path), "--data", str(colour_holdout)]) != 0
    assert "config.json is missing" in capsys.readouterr().err


def test_bad_flag_value_exits_with_usage(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--out", "x", "--epochs", "many"])
    assert info.value.code == 2
    assert "--epochs" in capsys.readouterr().err


def test_help_does_not_import_tensorflow():
    # --help must be instant: building the full parser (every verb, every dataset) stays
    # clear of TensorFlow; the import happens inside the commands.
    import subprocess
    import sys

    code = ("import sys; from transferkit.common.cli.parser import build_parser; build_parser(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('tensorflow', 'tf_keras', 'transformers', 'librosa')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_missing_optional_dependency_names_the_extra(monkeypatch, tmp_path, capsys):
    # A domain whose extra is not installed: its plugin fails to import, so its dataset is
    # unknown, and the error says which plugin did not load and which extra to install.
    import importlib.metadata as md

    from transferkit.common.data import datasets
    from transferkit.common import plugins

    real_import = md.import_module

    def no_speech(name, *args, **kwargs):
        if name.startswith("transferkit.speech"):
            raise ModuleNotFoundError("No module named 'librosa'", name="librosa")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(md, "import_module", no_speech)
    monkeypatch.setattr(plugins, "_loaded", set())
    monkeypatch.setattr(plugins, "_failed", {})
    monkeypatch.delitem(datasets.DATASETS.entries, "speak", raising=False)
    code = main(["data", "speak", "--words", "up", "--out", str(tmp_path / "w")])
    err = capsys.readouterr().err
    assert code == 2 and "No module named 'librosa'" in err
    assert "pip install 'transferkit[all]'" in err and "[speech]" in err
    assert "Traceback" not in err


def test_a_recipe_rerun_replaces_finished_runs_only_with_overwrite(tmp_path, capsys):
    from transferkit.common.cli.commands import _release_finished_runs

    out = tmp_path / "demo"
    (out / "imagenet").mkdir(parents=True)
    (out / "imagenet" / "run.json").write_text("{}")
    assert main(["recipe", "fashion-mnist-transfer", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "1 finished run(s)" in err and "--overwrite" in err and str(out) in err
    _release_finished_runs(out, overwrite=True)  # what --overwrite does before the recipe
    assert not (out / "imagenet" / "run.json").exists() and (out / "imagenet").is_dir()


def test_evaluate_names_the_data_with_a_label_the_run_never_saw(cli_run, colour_holdout,
                                                                tmp_path, capsys):
    data = tmp_path / "holdout"
    shutil.copytree(colour_holdout, data)
    (data / COLOURS[0]).rename(data / "purple")
    assert main(["evaluate", str(cli_run), "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert str(data) in err and "purple" in err and COLOURS[1] in err, err
