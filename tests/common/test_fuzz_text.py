"""Fuzzing the text/CSV readers and the config loader: whatever the input, either a result
that keeps the readers' promises or a ValueError (the toolkit's errors, which the CLI prints
as one line), never a TypeError, IndexError, csv.Error or yaml error from inside."""
from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transferkit.common.config import from_dict, load_config
from transferkit.common.data.domain import ReadOptions
from transferkit.common.data.files import labelled_files
from transferkit.common.data.tables import table_rows
from transferkit.nlp.data import read_source

FUZZ = settings(max_examples=500, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
# the characters that matter to CSV/JSON, and a few that don't
CSV_TEXT = st.lists(st.sampled_from(list('ab,"\t\n\r \\{}:[]|é\x00\ufeff') +
                                   ["pos", "neg", "nan", "-inf", "1e999", '"label"', '"text"']),
                    max_size=60).map("".join)
OPTIONS = st.builds(ReadOptions, text_column=st.sampled_from(["text", "t", ""]),
                    label_column=st.sampled_from(["label", "l"]),
                    encoding=st.sampled_from(["utf-8", "latin-1", "utf-16", "no-such-codec"]),
                    task=st.sampled_from(["multiclass", "multilabel", "regression"]),
                    labels_required=st.booleans(), path_column=st.sampled_from(["path", "a"]))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(text=CSV_TEXT, delimiter=st.sampled_from([",", "\t"]))
def test_table_rows(text, delimiter):
    try:
        header, rows = table_rows("f.csv", text, delimiter)
    except ValueError as exc:
        assert str(exc).startswith("f.csv")
        return
    assert header and all(isinstance(line, int) and line >= 2 for line, _ in rows)
    assert all(set(header) <= set(row) for _, row in rows)


@FUZZ
@given(body=CSV_TEXT, header=st.sampled_from(["text,label", "text\tlabel", "label,text", "t"]),
       suffix=st.sampled_from([".csv", ".tsv", ".jsonl"]), options=OPTIONS,
       raw=st.binary(max_size=40))
def test_read_source(folder, body, header, suffix, options, raw):
    path = folder / f"data{suffix}"
    path.write_bytes(f"{header}\n{body}".encode() + raw)
    try:
        ex = read_source(path, options)
    except ValueError as exc:
        assert str(path) in str(exc)
        return
    assert len(ex.items) == len(ex.labels) and all(t.strip() for t in ex.items)
    if options.labels_required:
        assert all(lab is not None and lab != "None" for lab in ex.labels)
    if options.task == "regression":
        assert all(lab is None or math.isfinite(lab) for lab in ex.labels)
    elif options.task == "multiclass":
        assert all(lab is None or (isinstance(lab, str) and lab) for lab in ex.labels)


@FUZZ
@given(body=CSV_TEXT, options=OPTIONS, allow=st.booleans(),
       header=st.sampled_from(["path,label", "a,label,group", "path"]))
def test_labelled_files(folder, body, options, allow, header):
    path = folder / "files.csv"
    path.write_text(f"{header}\n{body}", encoding="utf-8")
    try:
        rows = labelled_files(path, replace(options, allow_outside_paths=allow), "image")
    except ValueError as exc:
        assert str(path) in str(exc)
        return
    assert all(label.strip() for _, label, _ in rows)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
FIELDS = {"backbone": ["name", "weights", "options"],
          "head": ["units", "activation", "dropout", "task", "standardize"],
          "train": ["epochs", "head_fit", "class_weight", "batch_size", "learning_rate",
                    "embedding_cache", "augment", "seed"],
          "data": ["train", "validation_split", "limit", "encoding", "allow_outside_paths"]}
# well-formed shapes with random values: the field names are right, the values anything,
# plausible ones among them (so the dataclasses' own checks run too)
VALUE = JSON | st.sampled_from(["multiclass", "auto", "disk", "balanced", "x", "none", 0, 1, -1,
                                0.5, 2.0, float("nan"), [128], [0], [True], True, {"size": 8}])
SHAPED = st.fixed_dictionaries({}, optional={
    section: st.dictionaries(st.sampled_from(names), VALUE, max_size=3)
    for section, names in FIELDS.items()} | {"domain": JSON, "recipe": JSON})


@FUZZ
@given(raw=JSON | SHAPED)
def test_from_dict(raw):
    try:
        from_dict(raw)
    except ValueError as exc:
        assert str(exc)


@FUZZ
@given(raw=JSON | SHAPED, suffix=st.sampled_from([".json", ".yaml"]),
       junk=st.sampled_from(["", "{", "- [", ": :", "\x00", "key: [1, 2"]))
def test_load_config(folder, raw, suffix, junk):
    path = folder / f"config{suffix}"
    path.write_text(json.dumps(raw) + junk, encoding="utf-8")
    try:
        load_config(path)
    except ValueError as exc:
        assert str(path) in str(exc)


@FUZZ
@given(rows=st.lists(st.dictionaries(st.sampled_from(["text", "label", "x"]), JSON, max_size=3),
                     max_size=5), options=OPTIONS)
def test_read_jsonl_objects(folder, rows, options):
    """Well-formed JSON lines whose fields hold any JSON value (lists, objects, nan)."""
    path = folder / "rows.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    try:
        ex = read_source(path, replace(options, encoding="utf-8", text_column="text"))
    except ValueError as exc:
        assert str(path) in str(exc)
        return
    if options.task == "regression":
        assert all(lab is None or math.isfinite(lab) for lab in ex.labels)
    elif options.task == "multiclass":
        assert all(lab is None or (isinstance(lab, str) and lab) for lab in ex.labels)


@pytest.mark.parametrize("raw,message", [
    ({"train": {"batch_size": 0}}, "train.batch_size must be at least 1"),
    ({"train": {"learning_rate": float("nan")}}, "train.learning_rate must be a positive"),
    ({"data": {"validation_split": 0.6, "test_split": 0.5}}, "sum below 1"),
    ({"head": {"units": 128}}, "config.head.units: expected a list of positive integers"),
    ({"backbone": {"options": {"1": 2}, "name": 5}}, "config.backbone.name: expected str"),
])
def test_config_values_found_by_the_fuzz(raw, message):
    """What the fuzz found: these were TypeErrors from inside, or accepted and trained on."""
    with pytest.raises(ValueError, match=message):
        from_dict(raw)


def test_reader_errors_found_by_the_fuzz(folder):
    """An unknown --encoding was a LookupError from the image/audio CSV reader."""
    path = folder / "index.csv"
    path.write_text("path,label\na.png,x\n")
    with pytest.raises(ValueError, match=r"index\.csv: unknown encoding 'no-such-codec'"):
        labelled_files(path, ReadOptions(encoding="no-such-codec"), "image")
