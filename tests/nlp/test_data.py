"""Text readers: CSV/TSV/JSONL/folder, encodings, empty texts, label kinds."""
import json

import pytest

from transferkit.common.data.domain import ReadOptions
from transferkit.nlp.data import TextDataError, read_inputs, read_source


def test_csv_with_named_columns(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text('review,stars\n"Great, really",pos\nAwful,neg\n', encoding="utf-8")
    ex = read_source(path, ReadOptions(text_column="review", label_column="stars"))
    assert ex.items == ("Great, really", "Awful") and ex.labels == ("pos", "neg")


def test_missing_column_is_named(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("body,label\nhi,a\n")
    with pytest.raises(TextDataError, match="no text column 'text'.*body"):
        read_source(path)


def test_encoding_error_names_file_and_line(tmp_path):
    path = tmp_path / "tweets.csv"
    path.write_bytes(b"text,label\nfine,pos\ncaf\xe9 au lait,neg\n")
    with pytest.raises(TextDataError, match=r"tweets\.csv:3: cannot decode byte 0xe9 as utf-8"):
        read_source(path)
    ex = read_source(path, ReadOptions(encoding="latin-1"))
    assert ex.items[1] == "café au lait"


def test_empty_texts_are_reported(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("text\tlabel\nhello\ta\n   \tb\nworld\ta\n")
    ex = read_source(path)
    assert ex.items == ("hello", "world")
    assert ex.skipped == ((f"{path}:3", "empty text"),)


def test_skips_are_logged_once_by_the_shared_reader(tmp_path, capsys, text_domain):
    from transferkit.common.data.domain import ReadOptions
    from transferkit.common.data.read import read

    path = tmp_path / "t.tsv"
    path.write_text("text\tlabel\nhello\ta\n   \tb\nworld\ta\n")
    assert len(read(text_domain, str(path), ReadOptions(), "train")) == 2
    assert capsys.readouterr().err.count(f"skipped {path}:3: empty text") == 1


def test_jsonl_multilabel_and_bad_json(tmp_path):
    path = tmp_path / "t.jsonl"
    rows = [{"text": "a", "label": "x|y"}, {"text": "b", "label": ["y"]}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    ex = read_source(path, ReadOptions(task="multilabel", label_separator="|"))
    assert ex.labels == (("x", "y"), ("y",))
    path.write_text('{"text": "a", "label": "x"}\n{oops\n')
    with pytest.raises(TextDataError, match=r"t\.jsonl:2: not valid JSON"):
        read_source(path)


def test_regression_labels(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("text,label\na,1.5\nb,-2\n")
    assert read_source(path, ReadOptions(task="regression")).labels == (1.5, -2.0)
    path.write_text("text,label\na,1.5\nb,high\n")
    with pytest.raises(TextDataError, match=r"r\.csv:3: regression label 'high'"):
        read_source(path, ReadOptions(task="regression"))


def test_folder_of_classes(tmp_path):
    for label, texts in {"neg": ["bad film"], "pos": ["good film", ""]}.items():
        (tmp_path / label).mkdir()
        for i, text in enumerate(texts):
            (tmp_path / label / f"{i}.txt").write_text(text)
    ex = read_source(tmp_path)
    assert ex.items == ("bad film", "good film") and ex.labels == ("neg", "pos")
    assert ex.skipped[0][0].endswith("1.txt")


def test_read_inputs_at_file(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("first\n\nsecond\n")
    assert read_inputs(["x", f"@{path}"]) == ["x", "first", "second"]
