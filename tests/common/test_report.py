"""The run report: report.html and its PNGs from synthetic run directories, and compare_runs."""
import base64
import json
import re

import numpy as np
import pytest
from PIL import Image

from tests.common import report_fixtures as fx
from transferkit.common.output.report import compare_runs, write_report
from transferkit.common.output.report.classes import most_confused
from transferkit.common.output.report.compare import flatten
from transferkit.common.output.report.plots import numeric_columns

VISION_PNGS = ("curves", "confusion_matrix", "reliability", "feature_map", "worst_examples")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every kind of run, each with its report written once for the whole module."""
    root = tmp_path_factory.mktemp("runs")
    built = {"vision": fx.multiclass_run(root, "vision", "vision"),
             "text": fx.multiclass_run(root, "text", "text", epochs=9),
             "speech": fx.multiclass_run(root, "speech", "speech"),
             "multilabel": fx.multilabel_run(root),
             "regression": fx.regression_run(root),
             "old": fx.old_run(root)}
    return {kind: (run, write_report(run).read_text()) for kind, run in built.items()}


def _png(path, low=150, high=3000):
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert low <= image.width <= high and low <= image.height <= high, image.size
        return image.size


def _cell(value):
    return f'<td class="num">{value}</td>'


def test_vision_report_writes_every_png_and_embeds_them(runs):
    run, html = runs["vision"]
    for name in VISION_PNGS:
        _png(run / f"{name}.png")
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(embedded) == len(VISION_PNGS)
    assert all(base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n" for data in embedded)
    assert not [s for s in re.findall(r'src="([^"]{0,30})', html) if not s.startswith("data:")]
    assert "<link" not in html and "http" not in html  # nothing fetched from outside
    assert not list(run.glob(".*tmp*")), "atomic writes left a temporary file"


def test_header_names_the_run_and_its_headline_figures(runs):
    run, html = runs["vision"]
    metrics = json.loads((run / "metrics.json").read_text())
    assert "<h1>vision</h1>" in html
    for fact in ("vision", "tiny_cnn_test", "none (random init)", "multiclass",
                 "majority-class baseline"):
        assert fact in html
    assert _cell(f"{metrics['test']['accuracy']:.4g}") in html
    assert _cell(f"{metrics['test']['majority_baseline']:.4g}") in html


def test_per_class_table_confusions_and_calibration_figures(runs):
    run, html = runs["vision"]
    metrics = json.loads((run / "metrics.json").read_text())
    for name, row in metrics["test"]["per_class"].items():
        assert f"<td>{name}</td>" in html
        for key in ("precision", "recall", "f1"):
            assert _cell(f"{row[key]:.3g}") in html
        assert _cell(row["support"]) in html
    true, pred, count = fx.CONFUSED
    assert f"<tr><td>{true}</td><td>{pred}</td>{_cell(count)}" in html
    calibration = json.loads((run / "calibration.json").read_text())
    for key in ("ece_before", "ece_after", "test_ece_before", "test_ece_after"):
        assert _cell(f"{calibration[key]:.4g}") in html
    assert f"T = {calibration['temperature']:.4g}" in html
    assert "could not be drawn" not in html and 'class="missing"' not in html


def test_worst_images_include_an_unreadable_one_as_a_grey_tile(runs):
    run, html = runs["vision"]
    assert "gone.png" in html  # the missing image is listed, and drawing it did not crash
    width, height = _png(run / "worst_examples.png")
    assert width > 800 and height > 800  # a 4 x 4 grid of 16


def test_worst_texts_are_escaped_and_truncated(runs):
    run, html = runs["text"]
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "<script>alert" not in html
    assert fx.LONG_TEXT.strip() not in html and ("word " * 50 + "word…") in html
    first = html.index("&lt;script&gt;alert")
    assert html.index("review 8 about") > first  # worst first
    assert not (run / "worst_examples.png").exists()


def test_worst_clips_are_listed_by_file_name(runs):
    run, html = runs["speech"]
    assert "<td>tabby_cat_000.wav</td><td>tabby_cat</td><td>golden_dog</td>" in html
    assert "/data/clips/" not in html


def test_multilabel_report_has_per_label_metrics_and_thresholds(runs):
    run, html = runs["multilabel"]
    thresholds = json.loads((run / "calibration.json").read_text())["thresholds"]
    for label, value in thresholds.items():
        assert f"<tr><td>{label}</td>{_cell(f'{value:.3g}')}</tr>" in html
    assert "Decision thresholds" in html and "Per-label metrics" in html
    assert "Confusion matrix" not in html and not (run / "confusion_matrix.png").exists()
    for name in ("curves", "feature_map"):
        _png(run / f"{name}.png")


def test_regression_report_has_a_scatter_instead_of_classes(runs):
    run, html = runs["regression"]
    metrics = json.loads((run / "metrics.json").read_text())
    for name in ("curves", "regression", "feature_map"):
        _png(run / f"{name}.png")
    assert "Predicted vs true" in html and _cell(f"{metrics['test']['r2']:.4g}") in html
    for absent in ("Confusion matrix", "Calibration", "calibration.json"):
        assert absent not in html


def test_a_run_from_before_predictions_gets_missing_lines_not_a_crash(runs):
    run, html = runs["old"]
    assert "no predictions.npz: re-run training with this version" in html
    assert "no calibration.json: re-run training with this version" in html
    _png(run / "confusion_matrix.png")  # from metrics.json alone
    assert not (run / "feature_map.png").exists()
    assert "could not be drawn" not in html


def test_an_empty_or_corrupt_run_directory_still_gets_a_page(tmp_path):
    html = write_report(tmp_path).read_text()
    for name in ("history.csv", "metrics.json", "predictions.npz"):
        assert f"no {name}" in html
    (tmp_path / "predictions.npz").write_bytes(b"not a zip")
    (tmp_path / "metrics.json").write_text("{")
    html = write_report(tmp_path).read_text()
    assert "predictions.npz is unreadable" in html and "metrics.json is unreadable" in html


def test_many_classes_leave_names_off_the_confusion_axes(tmp_path):
    names = [f"class_{i:02d}" for i in range(35)]
    matrix = (np.eye(35, dtype=int) * 5 + np.roll(np.eye(35, dtype=int), 1, axis=1)).tolist()
    (tmp_path / "metrics.json").write_text(json.dumps(
        {"task": "multiclass", "test": {"n": 210, "confusion_matrix": matrix, "labels": names}}))
    html = write_report(tmp_path).read_text()
    assert "35 classes: class names are left off the axes" in html
    _png(tmp_path / "confusion_matrix.png", high=2000)


def test_curves_without_phase_two_rows(tmp_path):
    fx.write_history(tmp_path / "history.csv", phase2=False)
    write_report(tmp_path)
    _png(tmp_path / "curves.png")


def test_compare_runs_shows_differing_fields_and_both_accuracies(runs):
    (vision, _), (text, _) = runs["vision"], runs["text"]
    table = compare_runs([vision, text])
    cells = [re.split(r"\s{2,}", line.strip()) for line in table.splitlines()]
    rows = {row[0]: row[1:] for row in cells[2:] if not row[0].startswith("-")}
    assert cells[0] == ["vision", "text"]
    assert rows["train.epochs"] == ["5", "9"] and rows["domain"] == ["vision", "text"]
    accuracy = json.loads((vision / "metrics.json").read_text())["test"]["accuracy"]
    assert rows["test accuracy"] == [f"{accuracy:.4g}"] * 2
    assert "ECE after" in rows and rows["timing total_s"] == ["17.5", "21.5"]
    assert "head.task" not in rows  # the same in both runs


def test_compare_runs_names_the_missing_file(runs, tmp_path):
    vision, _ = runs["vision"]
    with pytest.raises(ValueError, match="config.json"):
        compare_runs([vision, tmp_path])
    (tmp_path / "config.json").write_text((vision / "config.json").read_text())
    with pytest.raises(ValueError, match="metrics.json"):
        compare_runs([vision, tmp_path])


def test_helpers():
    assert most_confused(np.array([[5, 2, 0], [0, 3, 1], [3, 0, 1]]), "abc") == [
        ("c", "a", 3), ("a", "b", 2), ("b", "c", 1)]
    assert flatten({"a": {"b": {"c": 1}}, "d": 2}) == {"a.b.c": 1, "d": 2}
    columns = numeric_columns([{"phase": "phase1", "epoch": "0", "loss": "1", "note": "x"},
                               {"phase": "phase2", "epoch": "0", "loss": "", "note": "y"}])
    assert list(columns) == ["loss"] and np.isnan(columns["loss"][1])


def test_a_regularisation_strength_is_not_plotted_as_a_score():
    # The softmax head's phase 1 logs one row per C candidate; C lies in (0, 1) too.
    from transferkit.common.output.report.plots import _panels

    panels = dict(_panels({"C": np.array([1e-4, 1e-3, 0.3]), "val_accuracy": np.array(
        [0.8, 0.9, 0.9]), "val_loss": np.array([1.1, 0.5, 0.4])}))
    assert set(panels["metrics"]) == {"val_accuracy"} and set(panels["other columns"]) == {"C"}
