"""Bad text/CSV/label inputs, each through ``transferkit train``: a clear error (exit 2, the
message naming the file and line or field) or a listed skip in ``skipped.txt``.

The corpus is written by the tests. Error cases stop before a backbone is built, so each runs
through the CLI in milliseconds; cases that read cleanly (or with skips) are checked at the
reader (the same ``load_splits`` the trainer calls) and together in one end-to-end run on a
tiny random BERT. ``pytest -s`` prints the table of case -> outcome.
"""
from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass

import pytest

from tests.nlp.conftest import sentiment_texts, write_tiny_bert

N = 30
OUTCOMES: list[tuple[str, str]] = []


@dataclass(frozen=True)
class Case:
    """``train`` is relative to the corpus folder; ``error`` a regex the message must match
    (else the read succeeds and ``skips`` are regexes each matching a listed skip)."""

    name: str
    train: str
    error: str = ""
    skips: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    domain: str = "text"
    n: int = N  # examples read when it succeeds


def _rows(n=N, seed=0):
    texts, labels = sentiment_texts(n, seed)
    return [["text", "label"], *map(list, zip(texts, labels))]


def _csv(path, rows, delimiter=","):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, delimiter=delimiter).writerows(rows)
    return path


def _lines(path):  # the rows as raw lines, to break one by hand
    return path.read_text(encoding="utf-8").splitlines()


def _write_corpus(root):
    good = _csv(root / "good.csv", _rows())
    lines = _lines(good)
    (root / "unclosed.csv").write_text("\n".join(lines[:4] + ['"Unclosed quote, pos']
                                                 + lines[4:]) + "\n")
    (root / "closed_far_below.csv").write_text("\n".join(
        lines[:4] + ['"Unclosed quote, pos'] + lines[4:-1] + [lines[-1] + '",pos']) + "\n")
    (root / "stray_quote.csv").write_text("\n".join(lines[:3] + ['"quoted" then text,neg']
                                                    + lines[3:]) + "\n")
    rows = _rows()
    rows[3][1] = rows[7][1] = ""
    _csv(root / "empty_label.csv", rows)
    _csv(root / "no_label_column.csv", [[r[0]] for r in _rows()])
    _csv(root / "all_labels_empty.csv", [["text", "label"]] + [[r[0], ""] for r in _rows()[1:]])
    big = [row[:] for row in _rows()]
    big[2][0] = "good " + "w1 " * 70_000 + "\nsecond line"  # a 210 KB quoted field
    _csv(root / "field_200kb.csv", big)
    (root / "latin1.csv").write_bytes(b"text,label\ngood film,pos\nbad film,neg\n"
                                      b"caf\xe9 was good,pos\n" + "\n".join(lines[1:]).encode())
    (root / "empty_lines.csv").write_text("\n\n".join(lines) + "\n\n\n")
    huge = [row[:] for row in _rows()]
    huge[5][0] = "bad " + "x" * (1 << 20)
    _csv(root / "line_1mb.csv", huge)
    _csv(root / "single_class.csv", [["text", "label"]] + [[r[0], "pos"] for r in _rows()[1:]])
    test = _rows(10, seed=9)
    test[4][1] = "meh"
    _csv(root / "unseen_test.csv", test)
    _csv(root / "dup_test.csv", _rows(10, seed=9) + _rows()[1:3])
    (root / "extra_fields.csv").write_text("\n".join(lines[:2] + ["good, fun film,pos"]
                                                     + lines[2:]) + "\n")
    (root / "empty.csv").write_text("")
    (root / "bom.csv").write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode() + b"\n")
    _csv(root / "tabs.tsv", _rows(), delimiter="\t")
    _csv(root / "nan_target.csv", [["text", "label"]] + [[r[0], i] for i, r in
                                                          enumerate(_rows()[1:])] + [["x", "nan"]])
    (root / "list_label.jsonl").write_text("\n".join(json.dumps({"text": r[0], "label": r[1]})
                                                     for r in _rows()[1:5]) +
                                           '\n{"text": "both", "label": ["pos", "neg"]}\n')
    (root / "nolabel.jsonl").write_text("\n".join(json.dumps({"text": r[0]})
                                                  for r in _rows()[1:]) + "\n")
    for label, texts in (("neg", ["bad film"] * 15), ("pos", ["good film"] * 15)):
        (root / "folder" / label).mkdir(parents=True)
        for i, text in enumerate(texts):
            (root / "folder" / label / f"{i}.txt").write_text(f"{text} {i}")
    (root / "folder" / "empty").mkdir()
    _write_vision(root / "images")


def _write_vision(root):
    from PIL import Image

    for label in ("a", "b"):
        (root / label).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (8, 8), (200 * (label == "a"), 0, 0)).save(root / label / f"{i}.png")
    rows = [["path", "label", "notes"]] + [[f"{lab}/{i}.png", lab, "x"] for lab in "ab"
                                           for i in range(3)]
    rows[2][2] = "n" * 200_000  # a field over csv's default 128 KB limit
    _csv(root / "index.csv", rows)
    _csv(root / "outside.csv", rows + [["../images_empty_class/a/0.png", "b", ""]])
    (root / "latin1.csv").write_bytes(b"path,label\na/0.png,caf\xe9\n")
    (root.parent / "images_empty_class" / "a").mkdir(parents=True)
    (root.parent / "images_empty_class" / "b").mkdir()
    Image.new("RGB", (8, 8)).save(root.parent / "images_empty_class" / "a" / "0.png")


CASES = [
    Case("good csv", "good.csv"),
    Case("unclosed quote", "unclosed.csv",
         error=r"unclosed\.csv:5: a quote opened on this line never closes"),
    Case("quote closed far below", "closed_far_below.csv",
         error=r"closed_far_below\.csv:5: a quoted field starting on this line runs over 28 "
               r"lines and holds 27 lines that look like rows"),
    Case("stray quote", "stray_quote.csv", error=r"stray_quote\.csv:4: malformed CSV"),
    Case("empty label", "empty_label.csv", n=N - 2,
         skips=(r"empty_label\.csv:4\tempty label", r"empty_label\.csv:8\tempty label")),
    Case("no label column", "no_label_column.csv",
         error=r"no_label_column\.csv: no label column 'label'; columns are \['text'\]"),
    Case("label column all empty", "all_labels_empty.csv",
         error=r"all_labels_empty\.csv: the label column 'label' is empty on every row"),
    Case("field > 128 KB", "field_200kb.csv"),
    Case("non-UTF-8 byte", "latin1.csv",
         error=r"latin1\.csv:4: cannot decode byte 0xe9 as utf-8 at byte offset 41.*--encoding"),
    Case("non-UTF-8 with --encoding", "latin1.csv", flags=("--encoding", "latin-1"), n=N + 3),
    Case("empty lines", "empty_lines.csv"),
    Case("1 MB line", "line_1mb.csv"),
    Case("single class", "single_class.csv",
         error=r"single_class\.csv has 1 class\(es\) \['pos'\]; need at least 2"),
    Case("test label unseen in training", "good.csv", flags=("--test", "{root}/unseen_test.csv"),
         error=r"data\.test: .*unseen_test\.csv has label\(s\) \['meh'\]"),
    Case("duplicates across splits", "good.csv", flags=("--test", "{root}/dup_test.csv"),
         n=N + 10,
         skips=(r"dup_test\.csv: .*\ttest item also in the training data",) * 2),
    Case("unquoted delimiter (extra field)", "extra_fields.csv",
         skips=(r"extra_fields\.csv:3\t3 fields, the header has 2",)),
    Case("empty file", "empty.csv", error=r"empty\.csv: empty file"),
    Case("byte-order mark", "bom.csv"),
    Case("tsv", "tabs.tsv"),
    Case("jsonl without labels", "nolabel.jsonl",
         error=r"nolabel\.jsonl: no object has a label field 'label'"),
    Case("regression target nan", "nan_target.csv", flags=("--task", "regression"),
         error=r"nan_target\.csv:32: regression label 'nan' is not a finite number"),
    Case("jsonl list label, multiclass", "list_label.jsonl",
         error=r"list_label\.jsonl:5: a class label must be one name.*--task multilabel"),
    Case("empty class folder (text)", "folder", skips=(r"folder/empty\tempty class folder",)),
    Case("vision csv field > 128 KB", "images/index.csv", domain="vision", n=6),
    Case("vision csv path outside its folder", "images/outside.csv", domain="vision",
         error=r"outside\.csv:8: path '\.\./images_empty_class/a/0\.png' is outside the CSV's folder.*"
               r"--allow-outside-paths"),
    Case("vision csv outside, allowed", "images/outside.csv", domain="vision", n=7,
         flags=("--allow-outside-paths",)),
    Case("vision csv non-UTF-8", "images/latin1.csv", domain="vision",
         error=r"latin1\.csv:2: cannot decode byte 0xe9 as utf-8 at byte offset 22"),
    Case("vision empty class folder", "images_empty_class", domain="vision",
         error=r"images_empty_class: class folder\(s\) \['b'\] hold no files"),
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad_inputs")
    _write_corpus(root)
    yield root
    print(f"\n{len(OUTCOMES)} cases")
    for name, outcome in OUTCOMES:
        print(f"  {name:38} -> {outcome}")


def _argv(case: Case, root, out) -> list[str]:
    flags = [f.format(root=root) for f in case.flags]
    return ["train", "--domain", case.domain, "--data", str(root / case.train), "--backbone",
            "hf_encoder" if case.domain == "text" else "tiny_cnn_test", "--out", str(out),
            "--quiet", *flags]


def _splits(case: Case, root):
    """What the trainer's ``prepare`` reads: the splits, and the labels fitted on them."""
    from transferkit.common.cli.commands import config_from_args
    from transferkit.common.cli.parser import build_parser
    from transferkit.common.data.domain import get_domain
    from transferkit.common.data.labels import LabelCodec
    from transferkit.common.data.read import load_splits

    args, _ = build_parser().parse_known_args(_argv(case, root, root / "unused"))
    config = config_from_args(args)
    splits = load_splits(config, get_domain(case.domain))
    codec = LabelCodec.fit(splits.train.labels, config.head.task)
    return splits, codec


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case, corpus, tmp_path, capsys):
    from transferkit.common.cli.parser import main

    if case.error:  # the error comes before any model is built: the CLI itself is cheap
        assert main(_argv(case, corpus, tmp_path / "run")) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err
        (line,) = [x for x in err.splitlines() if "error:" in x]
        assert re.search(case.error, line), line
        message = line.split("error: ", 1)[1].replace(f"{corpus}/", "")
        OUTCOMES.append((case.name, f"exit 2: {message[:120]}"))
        return
    splits, codec = _splits(case, corpus)
    parts = [p for p in (splits.train, splits.validation, splits.test) if p is not None]
    assert sum(map(len, parts)) == case.n
    assert "None" not in codec.names and all(lab is not None for p in parts for lab in p.labels)
    listed = sorted({f"{item}\t{why}" for p in parts for item, why in p.skipped})
    for pattern in case.skips:
        assert any(re.search(pattern, row) for row in listed), (pattern, listed)
    assert len(listed) == len(case.skips), listed
    OUTCOMES.append((case.name, f"ok, {case.n} read" + (f", {len(listed)} listed skip(s): "
                                                        f"{listed[0].split(chr(9))[1]}"
                                                        if listed else "")))


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny_bert_bad_inputs")
    write_tiny_bert(folder)
    return folder


def test_end_to_end_skips_land_in_skipped_txt(corpus, tiny_bert, tmp_path, capsys):
    """One real run on every skip at once: empty labels, an unquoted delimiter, a 1 MB line,
    a 210 KB field, blank lines, and a test file sharing two texts with training."""
    from transferkit.common.cli.parser import main

    rows = _rows()
    rows[3][1] = rows[7][1] = ""
    rows[10][0] = "good " + "w1 " * 70_000 + "\nsecond line"
    rows[12][0] = "bad " + "x" * (1 << 20)
    data = _csv(tmp_path / "mixed.csv", rows)
    with open(data, "a", encoding="utf-8") as fh:
        fh.write("good, fun film,pos\n\n\n")
    run = tmp_path / "run"
    assert main(["train", "--domain", "text", "--data", str(data), "--test",
                 str(corpus / "dup_test.csv"), "--backbone", "hf_encoder", "--weights",
                 str(tiny_bert), "--option", f"tokenizer={tiny_bert}", "--option",
                 "max_length=16", "--epochs", "1", "--out", str(run), "--quiet"]) == 0
    skipped = (run / "skipped.txt").read_text()
    assert skipped.count("\tempty label") == 2 and "3 fields, the header has 2" in skipped
    assert skipped.count("\ttest item also in the training data") == 2
    assert (run / "labels.txt").read_text().split() == ["neg", "pos"]
    assert json.loads((run / "metrics.json").read_text())["test"]["n"] == 10
    OUTCOMES.append(("end to end: all skips in one run", "exit 0, skipped.txt lists 2 empty "
                     "labels, 1 row of 3 fields, 2 test texts also in training"))
