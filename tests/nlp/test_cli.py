"""The text domain from the command line: train on a CSV, then predict raw strings."""
import json

from transferkit.common.testing import assert_beats_baseline
from tests.fresh_process import predict_in_fresh_process
from tests.nlp.conftest import sentiment_texts, write_text_csv


def test_cli_train_evaluate_predict_raw_strings(tiny_bert_dir, tmp_path, capsys):
    from transferkit.common.cli.parser import main

    texts, labels = sentiment_texts(240, seed=3)
    data = tmp_path / "tweets.csv"
    write_text_csv(data, texts, labels)
    run = tmp_path / "run"
    assert main(["train", "--domain", "text", "--data", str(data), "--backbone", "hf_encoder",
                 "--weights", str(tiny_bert_dir), "--option", f"tokenizer={tiny_bert_dir}",
                 "--option", "max_length=32", "--epochs", "20", "--learning-rate", "0.01",
                 "--early-stopping-patience", "0", "--test-split", "0.25",
                 "--out", str(run)]) == 0
    test = json.loads((run / "metrics.json").read_text())["test"]
    # two balanced classes, 60 test texts (the default 10% split was 24): majority + 0.2 is
    # 42 of 60, which a coin reaches with probability 0.14% (measured: 0.817)
    assert test["n"] == 60
    assert_beats_baseline(test["accuracy"], test["majority_baseline"], 0.2, n=test["n"],
                          chance=max(0.5, test["majority_baseline"]), what="test accuracy")
    assert all((run / name).exists() for name in ("saved_model", "model_weights.h5", "model.keras"))
    assert main(["evaluate", str(run), "--data", str(data)]) == 0
    capsys.readouterr()
    assert main(["predict", str(run), "--json", "The movie was great and fun",
                 "I hate this boring plot"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["input"] for r in rows] == ["The movie was great and fun", "I hate this boring plot"]
    assert {r["label"] for r in rows} <= {"pos", "neg"} and all(0 <= r["score"] <= 1 for r in rows)
    # A fresh process, as a user runs it (this once failed there with "Op type not
    # registered 'CaseFoldUTF8'": the in-process call had tensorflow-text loaded already).
    (row,) = predict_in_fresh_process(run, "The movie was great and fun")
    assert row["label"] == rows[0]["label"] and abs(row["score"] - rows[0]["score"]) < 1e-4
    # a labelled CSV through --data: the true label beside each text, the accuracy at the end
    assert main(["predict", str(run), "--data", str(data), "--top-k", "2", "--json"]) == 0
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["input"] for r in rows] == texts and [r["true"] for r in rows] == labels
    assert all([c["label"] for c in r["top_k"]] in (["pos", "neg"], ["neg", "pos"]) for r in rows)
    accuracy = sum(r["label"] == r["true"] for r in rows) / len(rows)
    assert f"accuracy {accuracy:.4f} ({round(accuracy * 240)}/240)" in captured.err
    assert accuracy >= 0.7
