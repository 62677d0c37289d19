"""Audio sources: a folder of class folders, or a CSV of ``path,label[,group]``.

A ``group`` (or ``voice``/``speaker``) column becomes ``Examples.groups``, so splits keep
each voice on one side. Every file is checked when read; unusable ones are listed in
``Examples.skipped`` with the reason.

Example:
    >>> ex = read_audio_source("words/index.csv")  # doctest: +SKIP
    >>> ex.groups[:2], ex.skipped  # doctest: +SKIP
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from transferkit.common.data.domain import Examples, ReadOptions
from transferkit.common.data.files import input_files, labelled_files, scanning
from transferkit.speech.audio_io import AUDIO_EXTENSIONS, check_audio

GROUP_COLUMNS = ("group", "voice", "speaker")
CHECK_THREADS = 8  # header reads are I/O-bound; threads overlap them


def read_audio_source(path, options: ReadOptions = ReadOptions()) -> Examples:
    """Read labelled audio files from a folder of class folders or a CSV/TSV.

    Raises:
        FileNotFoundError: when ``path`` does not exist.
        ValueError: when a folder has no class folders or a CSV lacks a column.
    """
    rows = labelled_files(path, options, "audio", GROUP_COLUMNS)
    with ThreadPoolExecutor(CHECK_THREADS) as pool:
        reasons = list(scanning(pool.map(check_audio, [r[0] for r in rows]),
                                f"checking {path}", "clip", total=len(rows)))
    keep = [r for r, why in zip(rows, reasons) if not why]
    skipped = tuple((str(r[0]), why) for r, why in zip(rows, reasons) if why)
    has_groups = bool(rows) and all(r[2] is not None for r in rows)
    return Examples(items=tuple(str(r[0]) for r in keep), labels=tuple(r[1] for r in keep),
                    groups=tuple(r[2] for r in keep) if has_groups else None, skipped=skipped)


def read_audio_inputs(args: list[str]) -> list[str]:
    """CLI predict inputs: audio files, or folders searched recursively."""
    return input_files(args, AUDIO_EXTENSIONS, "audio")
