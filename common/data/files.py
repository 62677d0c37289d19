"""Labelled file sources shared by the file-based domains (images, audio).

A source is a folder with one subfolder per class, or a CSV/TSV with a path column, a
label column and, optionally, a group column (speaker, voice) for group-aware splits.
"""
from __future__ import annotations

import os
from pathlib import Path

from transferkit.common.data.domain import ReadOptions
from transferkit.common.data.tables import decode_file, field_count_problem, table_rows

Row = tuple[Path, str, "str | None"]  # file, label, group


SCAN_BAR_FROM = 2000  # files: fewer are checked in well under a second


def labelled_files(path, options: ReadOptions, kind: str,
                   group_columns: tuple[str, ...] = ()) -> list[Row]:
    """``(file, label, group)`` rows of a class-folder tree or a CSV/TSV.

    Example:
        >>> rows = labelled_files("data/flowers", ReadOptions(), "image")  # doctest: +SKIP

    Raises:
        FileNotFoundError: when ``path`` does not exist.
        ValueError: a folder without class folders or with an empty one, a CSV without the
            columns (naming the file and the columns), an empty path or label, a row whose
            fields don't fit the header, a path outside the CSV's folder without
            ``ReadOptions.allow_outside_paths``, malformed quoting or a byte the encoding
            can't decode (each naming the line).
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
    rows = [(f, c.name, None) for c in classes for f in sorted(c.rglob("*"))
            if (f.is_file() or f.is_symlink()) and not f.name.startswith(".")]
    # (a dangling link stays in, so its check lists it: "file not found")
    # an empty class would vanish from the labels without a word
    empty = sorted({c.name for c in classes} - {label for _, label, _ in rows})
    if empty:
        raise ValueError(f"{root}: class folder(s) {empty} hold no files; add examples or "
                         f"remove the folder(s)")
    return rows


def _read_csv(path: Path, options: ReadOptions, group_columns: tuple[str, ...]) -> list[Row]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    fields, table = table_rows(path, decode_file(path, options.encoding), delimiter)
    missing = {options.path_column, options.label_column} - set(fields)
    if missing:
        raise ValueError(f"{path}: missing column(s) {sorted(missing)}; found {fields} "
                         f"(choose with --path-column / --label-column)")
    group = next((c for c in group_columns if c in fields), None)
    rows = []
    for line, row in table:
        problem = field_count_problem(row, len(fields))
        file, label = row[options.path_column], row[options.label_column]
        if problem or not file or not (label or "").strip():
            raise ValueError(f"{path}:{line}: {problem or 'empty path or label'}")
        rows.append((_resolve(path, line, file, options), label.strip(),
                     row[group] if group else None))
    return rows


def _resolve(csv_path: Path, line: int, file: str, options: ReadOptions) -> Path:
    """``file`` relative to the CSV's folder; outside it only with ``allow_outside_paths``
    (a CSV from elsewhere must not make training read arbitrary files). The check is on the
    path as written (``..``, absolute paths), so symlinks placed inside the folder still work.
    """
    folder = os.path.abspath(csv_path.parent)
    target = os.path.normpath(os.path.join(folder, os.path.expanduser(file)))
    if not options.allow_outside_paths and os.path.commonpath([folder, target]) != folder:
        raise ValueError(f"{csv_path}:{line}: path {file!r} is outside the CSV's folder "
                         f"{folder}; pass --allow-outside-paths to allow it")
    return csv_path.parent / Path(file).expanduser()


def scanning(items, desc: str, unit: str, total: int | None = None):
    """``items`` with a tqdm bar (stderr) when there are enough to take a moment."""
    from tqdm.auto import tqdm

    total = len(items) if total is None else total
    return tqdm(items, desc=desc, unit=unit, total=total, disable=total < SCAN_BAR_FROM,
                leave=False)
