"""Read labelled text: CSV/TSV, JSONL, or a folder with one subfolder of ``.txt`` per class.

Files are decoded with the explicit ``ReadOptions.encoding``; a decoding error names the
file, the line and the byte offset. CSV is parsed strictly (:mod:`common.data.tables`): a
quote that never closes names the line where it opens. Nothing is silently dropped: empty
texts, empty labels (when ``ReadOptions.labels_required``, as in training), rows whose
fields don't fit the header and class folders without ``.txt`` files go to
``Examples.skipped`` (with ``file:line``), which the run lists in ``skipped.txt``; a
missing label column is an error naming the columns found. Labels follow
``ReadOptions.task``: class names, lists split on ``label_separator`` (multilabel), or
finite floats (regression).

Example:
    >>> ex = read_source("reviews.csv", ReadOptions(text_column="review"))  # doctest: +SKIP
    >>> ex.items[0], ex.labels[0]  # doctest: +SKIP
    ('Great phone', 'positive')
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from transferkit.common.data.domain import Examples, ReadOptions
from transferkit.common.data.tables import (DataFileError, decode_file, field_count_problem,
                                            table_rows)

TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
JSONL_SUFFIXES = (".jsonl", ".ndjson")


class TextDataError(DataFileError):
    """A text source that can't be read; the message names the file (and line)."""


def read_text_file(path: Path, encoding: str) -> str:
    """The file decoded with ``encoding``; an error names the line and the bad byte."""
    try:
        return decode_file(path, encoding)
    except DataFileError as exc:
        raise TextDataError(str(exc)) from None


def parse_label(raw, options: ReadOptions, where: str):
    """A raw label as the task wants it; None when empty (unlabelled)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if options.task == "regression":
        try:
            value = float(raw)
        except (TypeError, ValueError, OverflowError):
            raise TextDataError(f"{where}: regression label {raw!r} is not a number") from None
        if not math.isfinite(value):  # a nan/inf target turns the whole loss into nan
            raise TextDataError(f"{where}: regression label {raw!r} is not a finite number")
        return value
    if options.task == "multilabel":
        if isinstance(raw, (list, tuple)):
            return tuple(str(x).strip() for x in raw if str(x).strip())
        sep = options.label_separator
        parts = str(raw).split(sep) if sep else [str(raw)]
        return tuple(p.strip() for p in parts if p.strip())
    if isinstance(raw, (list, dict)):  # JSONL: would become a class named "['a', 'b']"
        raise TextDataError(f"{where}: a class label must be one name, got {raw!r:.60} "
                            f"(a list of labels wants --task multilabel)")
    return str(raw).strip()


class _Collector:
    """Accumulates examples and skips while a reader walks its rows."""

    def __init__(self, options: ReadOptions):
        self.options, self.items, self.labels, self.skipped = options, [], [], []

    def add(self, text, raw_label, where: str) -> None:
        text = "" if text is None else str(text).strip()
        if not text:
            self.skipped.append((where, "empty text"))
            return
        label = parse_label(raw_label, self.options, where)
        if label is None and self.options.labels_required:
            self.skipped.append((where, "empty label"))
            return
        self.items.append(text)
        self.labels.append(label)

    def result(self, source) -> Examples:
        # Skips travel in Examples.skipped only: common.data.read logs them, the trainer
        # writes them to skipped.txt (one channel, not a warning as well).
        return Examples(items=tuple(self.items), labels=tuple(self.labels),
                        skipped=tuple(self.skipped))


def read_table(path: Path, options: ReadOptions, delimiter: str) -> Examples:
    """CSV/TSV with a header; columns from ``options`` (the label column is optional only
    where labels are: ``ReadOptions.labels_required`` off, as for ``predict --data``)."""
    try:
        columns, rows = table_rows(path, read_text_file(path, options.encoding), delimiter)
    except DataFileError as exc:
        raise TextDataError(str(exc)) from None
    _require_column(path, columns, options.text_column, "text")
    has_label = options.label_column in columns
    if options.labels_required:
        _require_column(path, columns, options.label_column, "label")
    out = _Collector(options)
    for line, row in rows:
        problem = field_count_problem(row, len(columns))
        if problem:
            out.skipped.append((f"{path}:{line}", problem))
            continue
        out.add(row[options.text_column], row[options.label_column] if has_label else None,
                f"{path}:{line}")
    if has_label and not out.items and any(r == "empty label" for _, r in out.skipped):
        raise TextDataError(f"{path}: the label column {options.label_column!r} is empty "
                            f"on every row that has a text")
    return out.result(path)


def _require_column(path: Path, columns: list, name: str, what: str) -> None:
    if name not in columns:
        raise TextDataError(f"{path}: no {what} column {name!r}; columns are {columns} "
                            f"(choose with --{what}-column)")


def read_jsonl(path: Path, options: ReadOptions) -> Examples:
    """One JSON object per line with the text and (optional) label fields."""
    out, labelled = _Collector(options), False
    for number, line in enumerate(read_text_file(path, options.encoding).splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise TextDataError(f"{where}: not valid JSON "
                                f"({getattr(exc, 'msg', 'nested too deeply')})") from None
        if not isinstance(row, dict) or options.text_column not in row:
            raise TextDataError(f"{where}: expected an object with a {options.text_column!r} "
                                f"field (choose with --text-column)")
        labelled = labelled or options.label_column in row
        out.add(row[options.text_column], row.get(options.label_column), where)
    if options.labels_required and out.items + out.skipped and not labelled:
        raise TextDataError(f"{path}: no object has a label field {options.label_column!r} "
                            f"(choose with --label-column)")
    return out.result(path)


def read_folder(path: Path, options: ReadOptions) -> Examples:
    """``root/<class>/*.txt``: each file is one example of its folder's class; a class folder
    without ``.txt`` files is listed in ``skipped``."""
    classes = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise TextDataError(f"{path}: expected one subfolder per class holding .txt files")
    out = _Collector(options)
    for folder in classes:
        files = sorted(folder.rglob("*.txt"))
        if not files:
            out.skipped.append((str(folder), "empty class folder: no .txt files"))
        for file in files:
            out.add(read_text_file(file, options.encoding), folder.name, str(file))
    return out.result(path)


def read_source(path, options: ReadOptions = ReadOptions()) -> Examples:
    """Read a text source by its kind (folder, ``.csv``/``.tsv``, ``.jsonl``).

    Raises:
        TextDataError: naming the file (and line) for unreadable input.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if path.is_dir():
        return read_folder(path, options)
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        return read_table(path, options, TABLE_SUFFIXES[suffix])
    if suffix in JSONL_SUFFIXES:
        return read_jsonl(path, options)
    raise TextDataError(f"{path}: unknown text source type {suffix!r}; use .csv, .tsv, "
                        f".jsonl or a folder of class folders")


def read_inputs(args: list[str]) -> list[str]:
    """Texts for ``transferkit predict``: each argument, or ``@file.txt`` for its lines.

    Example:
        >>> read_inputs(["great film"])
        ['great film']
    """
    texts: list[str] = []
    for arg in args:
        if arg.startswith("@"):
            lines = read_text_file(Path(arg[1:]).expanduser(), "utf-8").splitlines()
            texts.extend(line for line in lines if line.strip())
        else:
            texts.append(arg)
    return texts
