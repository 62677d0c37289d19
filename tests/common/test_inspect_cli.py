"""``transferkit inspect`` end to end on tiny data, and the data checks every run writes."""
import json
import shutil

import numpy as np
import pytest

from transferkit.common.cli.parser import main
from tests.common.conftest import COLOURS, TINY, colour_image, write_folders


@pytest.fixture(scope="module")
def leaky_data(tiny_backbone, colour_folders, tmp_path_factory):
    """The colour folders as train, and a test folder holding 3 copies of training images
    (renamed) beside 9 new ones."""
    test = write_folders(tmp_path_factory.mktemp("leaky") / "test", COLOURS, colour_image,
                         per_class=3, seed=7)
    copies = []
    for n, cls in enumerate(COLOURS):
        src = sorted((colour_folders / cls).glob("*.png"))[n]
        dst = test / cls / f"copy_of_{src.name}"
        shutil.copy(src, dst)
        copies.append((src, dst))
    return colour_folders, test, copies


@pytest.fixture(scope="module")
def inspected(leaky_data, tmp_path_factory):
    train, test, copies = leaky_data
    out = tmp_path_factory.mktemp("inspect") / "out"
    code = main(["inspect", "--data", str(train), "--test", str(test), "--backbone", TINY,
                 "--weights", "none", "--validation-split", "0.2", "--threshold", "0.9999",
                 "--out", str(out), "--top", "5"])
    assert code == 0
    return out, copies


def test_inspect_writes_json_and_page(inspected, capsys):
    out, _ = inspected
    checks = json.loads((out / "inspect.json").read_text())
    assert checks["backbone"] == TINY and checks["domain"] == "vision"
    assert checks["counts"] == {"train": 96, "validation": 24, "test": 12}
    assert set(checks["balance"]["train"]["counts"]) == set(COLOURS)
    labels = checks["label_issues"]
    assert labels["examples"] == 132 and labels["oof_accuracy"] > 0.6  # learnable: above 1/3
    page = (out / "inspect.html").read_text()
    assert "Near-duplicates and leakage" in page and "data:image/png;base64" in page
    assert (out / "features" / "train.npy").is_file()  # cached for the next inspection
    assert not (out / "checkpoints").exists()


def test_cross_split_copies_are_found(inspected):
    out, copies = inspected
    checks = json.loads((out / "inspect.json").read_text())
    leak = next(g for g in checks["duplicates"]["groups"] if (g["a"], g["b"]) == ("train", "test"))
    assert leak["leakage"] and checks["duplicates"]["groups"][0]["leakage"]
    found = {(r["a_item"], r["b_item"]) for r in leak["rows"]}
    assert {(str(a), str(b)) for a, b in copies} <= found
    assert checks["duplicates"]["leaked_items"]["test"] >= 3


def test_inspect_prints_tables_and_json(inspected, capsys):
    from transferkit.common.inspect.table import terminal_table

    out, _ = inspected
    text = terminal_table(json.loads((out / "inspect.json").read_text()), top=3)
    assert text.startswith("data checks:") and "LEAKAGE" in text and "class balance" in text
    assert "likely label issues:" in text and "weight (balanced)" in text
    capsys.readouterr()
    train = json.loads((out / "inspect.json").read_text())["data"]
    assert main(["inspect", "--data", train, "--backbone", TINY, "--weights", "none",
                 "--out", str(out), "--json"]) == 0  # features come from the cache
    checks = json.loads(capsys.readouterr().out)
    assert "label_issues" in checks and set(checks["counts"]) == {"train", "validation", "test"}


def test_inspect_refuses_a_run_directory_and_bad_flags(tmp_path, colour_folders, capsys):
    with pytest.raises(SystemExit):
        main(["inspect", "--help"])
    assert capsys.readouterr().out.startswith("usage: transferkit inspect")
    (tmp_path / "run.json").write_text("{}")
    assert main(["inspect", "--data", str(colour_folders), "--backbone", TINY, "--weights",
                 "none", "--out", str(tmp_path)]) == 2
    assert "holds a training run" in capsys.readouterr().err
    assert main(["inspect", "--backbone", TINY, "--out", str(tmp_path / "x")]) == 2
    assert "--data is required" in capsys.readouterr().err
    assert main(["inspect", "--data", str(colour_folders), "--threshold", "1.5"]) == 2


def test_every_run_writes_data_checks_into_its_manifest_and_report(colour_run):
    from transferkit.common.train.run_guard import read_manifest

    run_dir = colour_run.result.run_dir
    checks = json.loads((run_dir / "data_checks.json").read_text())
    assert sum(checks["counts"].values()) == 3 * 40
    assert checks["label_issues"]["examples"] == 3 * 40
    assert checks["label_issues"]["folds"] == 3  # a training run's checks: TRAINING_FOLDS
    assert "data_checks.json" in read_manifest(run_dir)["files"]
    assert "data_checks_s" in colour_run.result.metrics["timing"]
    page = (run_dir / "report.html").read_text()
    assert "<h2>Data checks</h2>" in page and "Likely label issues" in page


def test_a_failing_check_never_fails_the_run(colour_folders, tmp_path, monkeypatch, capsys):
    from types import SimpleNamespace

    from transferkit.common.config import RunConfig
    from transferkit.common.inspect import checks

    def boom(*args, **kwargs):
        raise np.linalg.LinAlgError("boom")

    monkeypatch.setattr(checks, "run_checks", boom)
    (tmp_path / "data_checks.json").write_text("{}")  # a previous training's
    ctx = SimpleNamespace(run_dir=tmp_path, splits=None, codec=None, config=RunConfig())
    checks.write_data_checks(ctx, {"train": np.zeros((4, 2))})
    assert not (tmp_path / "data_checks.json").exists()
    assert "data checks not written (LinAlgError: boom)" in capsys.readouterr().err
    checks.write_data_checks(ctx, None)  # augmentation on: no features, says so
    assert "skipped" in json.loads((tmp_path / "data_checks.json").read_text())


def test_the_report_section_says_what_is_missing(tmp_path):
    from transferkit.common.output.report.data_checks import data_checks_section
    from transferkit.common.output.report.inputs import RunInputs

    run = RunInputs(run_dir=tmp_path)
    assert "--data-checks false" in data_checks_section(run, tmp_path)
    assert "transferkit inspect" in data_checks_section(run, tmp_path)
    (tmp_path / "data_checks.json").write_text(json.dumps({"skipped": "no cached features"}))
    assert "data checks skipped: no cached features" in data_checks_section(run, tmp_path)


@pytest.mark.parametrize("domain", ["text", "speech"])
def test_text_and_clip_checks_are_tables(inspected, tmp_path, domain):
    from transferkit.common.output.report.data_checks import render_checks

    checks = json.loads((inspected[0] / "inspect.json").read_text())
    checks["label_issues"]["ranked"] = [{"split": "test", "index": 0, "given": "red",
                                         "item": "<script>alert(1)</script> a text",
                                         "suggested": "blue", "p_given": 0.01, "quality": 0.01}]
    html = render_checks(checks, domain, tmp_path)
    assert "<script>alert" not in html and "Likely label issues" in html
    assert "<img" not in html and not list(tmp_path.glob("*.png"))
