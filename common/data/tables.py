"""Decoding data files and reading CSV/TSV rows, with errors that name the file and line.

Shared by the text reader and the file-list readers (images, audio), so a bad byte, a quote
that never closes or a huge field reads the same in every domain:

* a byte the encoding can't decode names the line, the byte offset and ``--encoding``;
* CSV is parsed strictly: a quote that never closes (which a lenient parser turns into one
  field swallowing the rest of the file) names the line where the quote opens;
* fields may be up to :data:`FIELD_LIMIT` characters (Python's default is 128 KiB).

Example:
    >>> header, rows = table_rows("reviews.csv", "text,label\\nfine,pos\\n", ",")
    >>> header, [(line, row["label"]) for line, row in rows]
    (['text', 'label'], [(2, 'pos')])
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

FIELD_LIMIT = 1 << 28  # 256 MiB: far above any real text or path, below a C long


class DataFileError(ValueError):
    """A data file that can't be read; the message names the file (and line)."""


def decode_file(path, encoding: str) -> str:
    """The file decoded with ``encoding``; an error names the line, byte offset and byte.

    Example:
        >>> decode_file("reviews.csv", "utf-8")  # doctest: +SKIP
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataFileError(
            f"{path}:{line}: cannot decode byte 0x{data[exc.start]:02x} as {encoding} at "
            f"byte offset {exc.start} ({exc.reason}); pass the file's encoding "
            f"(--encoding latin-1, ReadOptions(encoding=...))") from None
    except LookupError:
        raise DataFileError(f"{path}: unknown encoding {encoding!r} (--encoding)") from None
    return text[1:] if text.startswith("\ufeff") else text  # a byte-order mark (Excel)


def table_rows(path, text: str, delimiter: str) -> tuple[list[str], list[tuple[int, dict]]]:
    """The header and ``(line, {column: value})`` rows of CSV/TSV ``text``.

    ``line`` is the 1-based line where the row starts. A value is None where a row has fewer
    fields than the header; a row with more fields keeps the extras under the key None.

    Raises:
        DataFileError: an empty file or header, duplicate column names, malformed quoting
            (naming the line where the row, and so the quote, starts).
    """
    if FIELD_LIMIT > csv.field_size_limit():
        csv.field_size_limit(FIELD_LIMIT)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows, start = [], 1
    try:
        for fields in reader:
            rows.append((start, fields))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DataFileError(_quote_message(path, start, reader.line_num, str(exc))) from None
    # blank lines (and rows of blank fields) are not data
    rows = [(line, fields) for line, fields in rows if any(f.strip() for f in fields)]
    if not rows:
        raise DataFileError(f"{path}: empty file (expected a header line of column names)")
    (_, header), body = rows[0], rows[1:]
    if len(set(header)) != len(header) or not all(h.strip() for h in header):
        raise DataFileError(f"{path}:{rows[0][0]}: the header needs distinct, non-empty "
                            f"column names; found {header}")
    for line, fields in body:
        _check_swallowed(path, line, fields, len(header), delimiter, reader.line_num)
    return header, [(line, _as_dict(header, fields)) for line, fields in body]


def _check_swallowed(path, line: int, fields: list[str], width: int, delimiter: str,
                     lines: int) -> None:
    """A stray quote closed by another far below reads as valid CSV: one field swallowing
    the rows between. Caught when that field holds over half the file's lines and at least
    two of them look like rows of their own (the header's number of delimiters)."""
    for field in fields:
        inner = field.split("\n")
        if len(inner) > max(2, lines // 2):
            looks = sum(part.count(delimiter) == width - 1 for part in inner[1:])
            if looks >= 2:
                raise DataFileError(
                    f"{path}:{line}: a quoted field starting on this line runs over "
                    f"{len(inner)} lines and holds {looks} lines that look like rows: a "
                    f"quote opened on this line may close far below; double quotes inside "
                    f"a quoted field (\"\")")


def _as_dict(header: list[str], fields: list[str]) -> dict:
    row = dict(zip(header, fields))
    row.update({h: None for h in header[len(fields):]})
    if len(fields) > len(header):
        row[None] = fields[len(header):]
    return row


def _quote_message(path, start: int, end: int, reason: str) -> str:
    if "end of data" in reason:
        return (f"{path}:{start}: a quote opened on this line never closes (it runs to the "
                f"end of the file, line {end}); close it, or double quotes inside a quoted "
                f"field (\"\")")
    if "field larger" in reason:
        return f"{path}:{start}: a field is longer than {FIELD_LIMIT} characters"
    return (f"{path}:{start}: malformed CSV in the row starting on this line ({reason}, "
            f"by line {end}); quote fields that hold quotes or the delimiter, and double "
            f"the quotes inside them (\"\")")


def field_count_problem(row: dict, width: int) -> str:
    """Why a row from :func:`table_rows` doesn't fit its header (``""`` when it does)."""
    if None in row:
        return (f"{width + len(row[None])} fields, the header has {width} (quote fields "
                f"that hold the delimiter)")
    missing = [k for k, v in row.items() if v is None]
    if not missing:
        return ""
    spans = any("\n" in v for v in row.values() if v)
    return (f"{width - len(missing)} field(s), the header has {width}" +
            ("; a field spans several lines: does a quote opened on this line close "
             "where it should?" if spans else ""))
