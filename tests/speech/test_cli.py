"""The speech domain from the command line: train on class folders, predict on a wav file."""
import json

from transferkit.common.testing import assert_beats_baseline
from tests.fresh_process import predict_in_fresh_process


def test_cli_train_kws_and_predict_a_wav(synthetic_sounds, tmp_path, capsys):
    from transferkit.common.cli.parser import main

    run = tmp_path / "run"
    # random init keeps this test off the real weights (tests/speech/test_real_weights.py)
    assert main(["train", "--domain", "speech", "--data", str(synthetic_sounds),
                 "--backbone", "kws_mobilenetv2", "--weights", "none", "--epochs", "30",
                 "--learning-rate", "0.01", "--early-stopping-patience", "0",
                 "--test-split", "0.25", "--out", str(run)]) == 0
    test = json.loads((run / "metrics.json").read_text())["test"]
    # tone / noise / chirp, 18 test clips (the default 10% split was 8): majority + 0.35 is
    # 13 of 18, which a 1-in-3 guesser reaches with probability 0.09% (measured: 18/18)
    assert test["n"] == 18
    assert_beats_baseline(test["accuracy"], test["majority_baseline"], 0.35, n=test["n"],
                          chance=1 / 3, what="test accuracy")
    wav = sorted((synthetic_sounds / "tone").glob("*.wav"))[0]
    capsys.readouterr()
    assert main(["predict", str(run), "--json", str(wav)]) == 0
    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["input"] == str(wav) and row["label"] in {"tone", "noise", "chirp"}
    # a fresh process loads the microfrontend op itself (KWS SavedModels call it)
    (again,) = predict_in_fresh_process(run, wav)
    assert again["label"] == row["label"] and abs(again["score"] - row["score"]) < 1e-4
    # the class folders through --data, top 2 and a CSV
    out_csv = tmp_path / "clips.csv"
    assert main(["predict", str(run), "--data", str(synthetic_sounds), "--top-k", "2",
                 "--csv", str(out_csv)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == len(list(synthetic_sounds.rglob("*.wav")))
    assert all(line.split("\t")[-1].split("=")[1] in {"tone", "noise", "chirp"} for line in lines)
    assert "accuracy " in captured.err and out_csv.read_text().startswith("input,label,score,true")
