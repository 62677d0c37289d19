"""Labelled file sources shared by the file-based domains (images, audio).

A source is a folder with one subfolder per class, or a CSV/TSV with a path column, a
label column and, optionally, a group column (speaker, voice) for group-aware splits.
"""
from __future__ import annotations

import csv
from pathlib import Path

from transferkit.common.data.domain import ReadOptions

Row = tuple[Path, str, "str | None"]  # file, label, group


SCAN_BAR_FROM = 2000  # files: fewer are checked in well under a second


def labelled_files(path, options: ReadOptions, kind: str,
                   group_columns: tuple[str, ...] = ()) -> list[Row]:
    """``(file, label, group)`` rows of a class-folder tree or a CSV/TSV.

    Example:
        >>> rows = labelled_files("data/flowers", ReadOptions(), "image")  # doctest: +SKIP

    Raises:
        FileNotFoundError: when ``path`` does not exist.
        ValueError: a folder without class folders, a CSV without the columns (naming the
            file and the columns), an empty path or label (naming the line).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{kind} data {path} does not exist")
    if path.is_dir():
        return _scan_folder(path)
    if path.suffix.lower() in {".csv", ".tsv"}:
        return _read_csv(path, options, group_columns)
    raise ValueError(f"{path}: {kind} data must be a folder of class folders or a .csv")


def input_files(args: list[str], extensions: set[str] | frozenset[str], kind: str) -> list[str]:
    """CLI predict inputs: files as given, folders searched recursively by extension."""
    out = []
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            out += sorted(str(p) for p in path.rglob("*") if p.suffix.lower() in extensions)
        elif path.is_file():
            out.append(str(path))
        else:
            raise FileNotFoundError(f"{arg}: no such {kind} file or folder")
    return out


def _scan_folder(root: Path) -> list[Row]:
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise ValueError(f"{root}: expected one subfolder per class, found none")
    return [(f, c.name, None) for c in classes for f in sorted(c.rglob("*"))
            if f.is_file() and not f.name.startswith(".")]


def _read_csv(path: Path, options: ReadOptions, group_columns: tuple[str, ...]) -> list[Row]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    with path.open(newline="", encoding=options.encoding) as fh:
        reader = csv.DictReader(fh, delimiter=delimiter)
        fields = reader.fieldnames or []
        missing = {options.path_column, options.label_column} - set(fields)
        if missing:
            raise ValueError(f"{path}: missing column(s) {sorted(missing)}; found {fields}")
        group = next((c for c in group_columns if c in fields), None)
        rows = []
        for line, row in enumerate(reader, start=2):
            file, label = row[options.path_column], row[options.label_column]
            if not file or label in (None, ""):
                raise ValueError(f"{path}:{line}: empty path or label")
            file = Path(file)
            rows.append((file if file.is_absolute() else path.parent / file, label,
                         row[group] if group else None))
    return rows


def scanning(items, desc: str, unit: str, total: int | None = None):
    """``items`` with a tqdm bar (stderr) when there are enough to take a moment."""
    from tqdm.auto import tqdm

    total = len(items) if total is None else total
    return tqdm(items, desc=desc, unit=unit, total=total, disable=total < SCAN_BAR_FROM,
                leave=False)
