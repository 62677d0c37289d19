"""Audio sources: a folder of class folders, or a CSV of ``path,label[,group]``.

A ``group`` (or ``voice``/``speaker``) column becomes ``Examples.groups``, so splits keep
each voice on one side. Every file is checked when read; unusable ones are listed in
``Examples.skipped`` with the reason.

Example:
    >>> ex = read_audio_source("words/index.csv")  # doctest: +SKIP
    >>> ex.groups[:2], ex.skipped  # doctest: +SKIP
"""
from __future__ import annotations

import csv
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from transferkit.common.domain import Examples, ReadOptions
from transferkit.speech.audio_io import AUDIO_EXTENSIONS, check_audio

GROUP_COLUMNS = ("group", "voice", "speaker")
CHECK_THREADS = 8  # header reads are I/O-bound; threads overlap them


def read_audio_source(path, options: ReadOptions = ReadOptions()) -> Examples:
    """Read labelled audio files from a folder of class folders or a CSV/TSV.

    Raises:
        FileNotFoundError: when ``path`` does not exist.
        ValueError: when a folder has no class folders or a CSV lacks a column.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"audio data {path} does not exist")
    if path.is_dir():
        rows = _scan_folder(path)
    elif path.suffix.lower() in {".csv", ".tsv"}:
        rows = _read_csv(path, options)
    else:
        raise ValueError(f"{path}: audio data must be a folder of class folders or a .csv")
    with ThreadPoolExecutor(CHECK_THREADS) as pool:
        reasons = list(pool.map(check_audio, [r[0] for r in rows]))
    keep = [r for r, why in zip(rows, reasons) if not why]
    skipped = tuple((str(r[0]), why) for r, why in zip(rows, reasons) if why)
    has_groups = bool(rows) and all(r[2] is not None for r in rows)
    return Examples(items=tuple(str(r[0]) for r in keep), labels=tuple(r[1] for r in keep),
                    groups=tuple(r[2] for r in keep) if has_groups else None, skipped=skipped)


def _scan_folder(root: Path) -> list[tuple[Path, str, None]]:
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise ValueError(f"{root}: expected one subfolder per class, found none")
    return [(f, c.name, None) for c in classes for f in sorted(c.rglob("*"))
            if f.is_file() and not f.name.startswith(".")]


def _read_csv(path: Path, options: ReadOptions) -> list[tuple[Path, str, str | None]]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    with path.open(newline="", encoding=options.encoding) as fh:
        reader = csv.DictReader(fh, delimiter=delimiter)
        fields = reader.fieldnames or []
        missing = {options.path_column, options.label_column} - set(fields)
        if missing:
            raise ValueError(f"{path}: missing column(s) {sorted(missing)}; found {fields}")
        group = next((c for c in GROUP_COLUMNS if c in fields), None)
        rows = []
        for line, row in enumerate(reader, start=2):
            file, label = row[options.path_column], row[options.label_column]
            if not file or label in (None, ""):
                raise ValueError(f"{path}:{line}: empty path or label")
            file = Path(file)
            rows.append((file if file.is_absolute() else path.parent / file, label,
                         row[group] if group else None))
    return rows


def read_audio_inputs(args: list[str]) -> list[str]:
    """CLI predict inputs: audio files, or folders searched recursively."""
    out = []
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            out += sorted(str(p) for p in path.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)
        elif path.is_file():
            out.append(str(path))
        else:
            raise FileNotFoundError(f"{arg}: no such audio file or folder")
    return out
