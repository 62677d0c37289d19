"""Read labelled text: CSV/TSV, JSONL, or a folder with one subfolder of ``.txt`` per class.

Files are decoded with the explicit ``ReadOptions.encoding``; a decoding error names the
file and the line. Empty texts are never silently dropped: they go to
``Examples.skipped`` (with ``file:line``) and a warning. Labels follow ``ReadOptions.task``:
class names, lists split on ``label_separator`` (multilabel), or floats (regression).

Example:
    >>> ex = read_source("reviews.csv", ReadOptions(text_column="review"))  # doctest: +SKIP
    >>> ex.items[0], ex.labels[0]  # doctest: +SKIP
    ('Great phone', 'positive')
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from transferkit.common.data.domain import Examples, ReadOptions

TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
JSONL_SUFFIXES = (".jsonl", ".ndjson")


class TextDataError(ValueError):
    """A text source that can't be read; the message names the file (and line)."""


def read_text_file(path: Path, encoding: str) -> str:
    """The file decoded with ``encoding``; an error names the line and the bad byte."""
    data = Path(path).read_bytes()
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise TextDataError(
            f"{path}:{line}: cannot decode byte 0x{data[exc.start]:02x} as {encoding} "
            f"({exc.reason}); pass the file's encoding (--encoding latin-1, "
            f"ReadOptions(encoding=...))") from None
    except LookupError as exc:
        raise TextDataError(f"{path}: unknown encoding {encoding!r}") from exc


def parse_label(raw, options: ReadOptions, where: str):
    """A raw label as the task wants it; None when empty (unlabelled)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if options.task == "regression":
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise TextDataError(f"{where}: regression label {raw!r} is not a number") from None
    if options.task == "multilabel":
        if isinstance(raw, (list, tuple)):
            return tuple(str(x).strip() for x in raw if str(x).strip())
        sep = options.label_separator
        parts = str(raw).split(sep) if sep else [str(raw)]
        return tuple(p.strip() for p in parts if p.strip())
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
        self.items.append(text)
        self.labels.append(parse_label(raw_label, self.options, where))

    def result(self, source) -> Examples:
        # Skips travel in Examples.skipped only: common.data.read logs them, the trainer
        # writes them to skipped.txt (one channel, not a warning as well).
        return Examples(items=tuple(self.items), labels=tuple(self.labels),
                        skipped=tuple(self.skipped))


def read_table(path: Path, options: ReadOptions, delimiter: str) -> Examples:
    """CSV/TSV with a header; columns from ``options`` (label column optional)."""
    reader = csv.DictReader(io.StringIO(read_text_file(path, options.encoding), newline=""),
                            delimiter=delimiter)
    columns = reader.fieldnames or []
    if options.text_column not in columns:
        raise TextDataError(f"{path}: no text column {options.text_column!r}; columns are "
                            f"{columns} (choose with --text-column)")
    has_label = options.label_column in columns
    out = _Collector(options)
    for row in reader:
        out.add(row.get(options.text_column),
                row.get(options.label_column) if has_label else None,
                f"{path}:{reader.line_num}")
    return out.result(path)


def read_jsonl(path: Path, options: ReadOptions) -> Examples:
    """One JSON object per line with the text and (optional) label fields."""
    out = _Collector(options)
    for number, line in enumerate(read_text_file(path, options.encoding).splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TextDataError(f"{where}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict) or options.text_column not in row:
            raise TextDataError(f"{where}: expected an object with a {options.text_column!r} "
                                f"field")
        out.add(row[options.text_column], row.get(options.label_column), where)
    return out.result(path)


def read_folder(path: Path, options: ReadOptions) -> Examples:
    """``root/<class>/*.txt``: each file is one example of its folder's class."""
    classes = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise TextDataError(f"{path}: expected one subfolder per class holding .txt files")
    out = _Collector(options)
    for folder in classes:
        for file in sorted(folder.rglob("*.txt")):
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
