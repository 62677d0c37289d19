"""The ``transferkit`` command line, run in-process through ``cli.main``."""
import json
import re

import pytest

from transferkit.common.cli.parser import main
from tests.common.conftest import COLOURS, TINY

VERBS = ("train", "evaluate", "predict", "export", "backbones", "weights", "recipe", "data")


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


def test_predict_missing_file_is_named(cli_run, tmp_path, capsys):
    assert main(["predict", str(cli_run), str(tmp_path / "nope.png")]) != 0
    assert "nope.png" in capsys.readouterr().err


def test_export_rewrites_models_and_tflite(cli_run, colour_holdout, capsys):
    """Re-export rebuilds the model from the registry and the weights: same predictions."""
    import numpy as np

    from transferkit.common.output.rundir import load

    items = sorted(str(p) for p in colour_holdout.rglob("*.png"))
    served_before = load(cli_run).predict(items)
    before = (cli_run / "model_weights.h5").stat().st_mtime_ns
    assert main(["export", str(cli_run), "--tflite"]) == 0
    np.testing.assert_allclose(load(cli_run).predict(items), served_before, atol=1e-5)
    out = capsys.readouterr().out
    assert "weights: model_weights.h5" in out and "saved_model: saved_model" in out
    assert (cli_run / "model_weights.h5").stat().st_mtime_ns >= before
    match = re.search(r"tflite: (\S+) \(max \|TFLite - SavedModel\| on a random input: "
                      r"([\d.e+-]+)\)", out)
    assert match, out
    assert match.group(1) == str(cli_run / "model.tflite") and (cli_run / "model.tflite").is_file()
    assert float(match.group(2)) < 1e-4


def test_backbones_lists_the_registered_tiny_one(tiny_backbone, capsys):
    assert main(["backbones", "--domain", "vision"]) == 0
    lines = capsys.readouterr().out.splitlines()
    mine = [line for line in lines if line.startswith(TINY + " ")]
    assert len(mine) == 1 and "vision" in mine[0] and "tiny random CNN" in mine[0]
    assert any(line.startswith("mobilenet_v2 ") for line in lines)
    assert main(["backbones", "--domain", "text"]) == 0
    assert TINY not in capsys.readouterr().out


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_has_help(verb, capsys):
    with pytest.raises(SystemExit) as info:
        main([verb, "--help"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: transferkit {verb}")


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
