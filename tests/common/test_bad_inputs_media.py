"""Every bad image, audio and model file, through the CLI: a listed skip or a clear error.

Training reads a folder of good files plus the corpus of :mod:`tests.common.media_corpus`:
each bad file is listed in ``skipped.txt`` with its reason, each odd but usable one
(CMYK, 16-bit, stereo, 8 kHz...) trains. ``predict`` on good and bad files together prints
one row per input and exits 1. A truncated ``saved_model.pb`` or variables file is an
error naming the file. The case -> outcome table prints with ``-s``.
"""
import contextlib
import io
import json
import shutil

import numpy as np
import pytest

from tests.common.conftest import TINY, colour_image, write_folders
from tests.common.media_corpus import SR, mp3_bytes, tone, write_audio, write_images
from transferkit.common.cli.parser import main

TRAIN = ["--epochs", "2", "--batch-size", "16", "--early-stopping-patience", "0",
         "--validation-split", "0.2", "--test-split", "0.25", "--quiet"]
OUTCOMES: dict[str, str] = {}


def _train(data, out, *flags) -> dict:
    assert main(["train", "--data", str(data), "--out", str(out), *TRAIN, *flags]) == 0
    skipped = (out / "skipped.txt").read_text().splitlines()
    return dict(line.split("\t", 1) for line in skipped)


def _predict(run, inputs) -> tuple[int, dict]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["predict", str(run), "--json", *map(str, inputs)])
    return code, {r["input"]: r for r in map(json.loads, out.getvalue().splitlines())}


@pytest.fixture(scope="module")
def vision(tiny_backbone, tmp_path_factory):
    root = tmp_path_factory.mktemp("bad_media") / "images"
    write_folders(root, ("blue", "red"), colour_image, per_class=12)
    cases = write_images(root / "red", np.random.default_rng(1), lambda r: colour_image(r, "red"))
    run = root.parent / "image_run"
    skipped = _train(root, run, "--backbone", TINY, "--weights", "none")
    inputs = [root / "blue" / "blue_000.png"] + [root / "red" / n for n in cases]
    return root / "red", cases, skipped, run, _predict(run, inputs)


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    import soundfile as sf

    root = tmp_path_factory.mktemp("bad_media") / "audio"
    for label, freq in (("low", 300.0), ("high", 3000.0)):
        (root / label).mkdir(parents=True)
        for i in range(10):
            sf.write(root / label / f"{label}_{i}.wav", tone(freq * (1 + i / 50)), SR)
    cases = write_audio(root / "high", 3000.0)
    run = root.parent / "audio_run"
    skipped = _train(root, run, "--backbone", "logmel_cnn", "--weights", "none",
                     "--option", "widths=4,8", "--augment", "false")
    inputs = [root / "low" / "low_0.wav"] + [root / "high" / n for n in cases]
    return root / "high", cases, skipped, run, _predict(run, inputs)


def _media_cases():
    image = ["zero.png", "zero.jpg", "truncated.jpg", "truncated.png", "text_named.jpg",
             "bomb.png", "cmyk.jpg", "grey16.png", "grey.png", "rgba.png", "one_pixel.png",
             "animated.gif", "one_bit.bmp", "dangling_link.png"]
    audio = ["stereo.wav", "rate_8k.wav", "rate_48k.wav", "silent.wav", "nan_samples.wav",
             "inf_samples.wav", "zero.wav", "header_only.wav", "truncated_header.wav",
             "text_named.wav", "mp3_named.wav"]
    model = ["saved_model.pb", "variables.index", "variables.data-00000-of-00001"]
    return ([("vision", n) for n in image] + [("speech", n) for n in audio] +
            [("model", n) for n in model])


@pytest.mark.parametrize("kind,name", _media_cases())
def test_bad_input_is_a_listed_skip_or_a_clear_error(kind, name, request, capsys, tmp_path):
    if kind == "model":
        outcome = _damaged_run(request.getfixturevalue("vision")[3], name, tmp_path, capsys)
    else:
        outcome = _media_case(request.getfixturevalue(kind), name)
    OUTCOMES[f"{kind}/{name}"] = outcome
    with capsys.disabled():
        print(f"\n  {kind}/{name:32s} -> {outcome}", end="")


def _media_case(fixture, name) -> str:
    folder, cases, skipped, _, (code, table) = fixture
    if name not in cases:  # mp3_named.wav where libsndfile has no MP3 encoder
        assert mp3_bytes(tone(440.0)) is None
        pytest.skip("libsndfile here has no MP3 encoder, so no MP3 bytes could be written")
    path, why = str(folder / name), cases[name]
    row = table[path]
    if why:
        assert why in skipped[path], (name, skipped.get(path))
        assert why in row["error"], row
        return f"skipped + predict error row: {skipped[path]}"
    assert path not in skipped, skipped[path]
    assert "error" not in row and "label" in row, row
    return f"used in training; predicted {row['label']} ({row['score']:.2f})"


def _damaged_run(run, name, tmp_path, capsys) -> str:
    damaged = tmp_path / "damaged_run"
    shutil.copytree(run, damaged)
    folder = damaged / "saved_model" / ("variables" if name.startswith("variables") else "")
    target = folder / name
    target.write_bytes(target.read_bytes()[:target.stat().st_size // 2])
    image = next((run.parent / "images" / "blue").iterdir())
    capsys.readouterr()
    code = main(["predict", str(damaged), str(image)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and str(target) in err and "damaged" in err, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return f"exit 2: {err.replace(str(damaged), 'RUN')[:200]}"


def test_predict_exits_1_and_prints_the_good_ones(vision, speech):
    for _, cases, _, _, (code, table) in (vision, speech):
        assert code == 1
        assert len(table) == len(cases) + 1  # one row per input, the good ones included
        assert sum("error" in r for r in table.values()) == sum(map(bool, cases.values()))
    with_reason = sum("skipped" in o for o in OUTCOMES.values())
    print(f"\n{len(OUTCOMES)} cases: {with_reason} listed skips, "
          f"{sum(o.startswith('used') for o in OUTCOMES.values())} used, "
          f"{sum(o.startswith('exit 2') for o in OUTCOMES.values())} damaged-run errors")


@pytest.mark.parametrize("error,flags", [
    (PermissionError("RUN/report.html: permission denied"), []),
    (IsADirectoryError("RUN/metrics.json is a directory"), ["--debug"]),
    (TypeError("an internal slip"), []), (TypeError("an internal slip"), ["--debug"])])
def test_main_turns_every_error_into_one_line_unless_debug(error, flags, monkeypatch, capsys):
    from transferkit.common.cli import commands

    def fail(args):
        raise error

    monkeypatch.setattr(commands, "cmd_report", fail)
    assert main([*flags[:1], "report", "RUN"]) == 2
    err = capsys.readouterr().err
    assert "transferkit report: error: " in err and str(error) in err
    assert ("Traceback" in err) == bool(flags)
    if isinstance(error, TypeError):
        assert "unexpected TypeError" in err and ("--debug" in err) != bool(flags)
    assert main(["report", "RUN", "--debug"]) == 2  # also after the verb
    assert "Traceback" in capsys.readouterr().err


def test_predict_data_source_lists_its_skipped_files(vision, tmp_path):
    folder, cases, _, run, _ = vision
    code, table = _predict(run, ["--data", str(folder.parent)])
    assert code == 1
    bad = {str(folder / n) for n, why in cases.items() if why}
    assert {k for k, r in table.items() if "error" in r} == bad
    assert all("true" in r and "label" in r for k, r in table.items() if k not in bad)
    code, table = _predict(run, [str(tmp_path / "nope.png"), str(tmp_path)])
    assert code == 1 and "not found" in table[str(tmp_path / "nope.png")]["error"]
    assert "no vision input files" in table[str(tmp_path)]["error"]
