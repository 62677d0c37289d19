"""Small HTML pieces: escaped tables, embedded images, the "missing" line.

Every value that came from a run directory goes through :func:`html.escape`: texts of a
text dataset are user data and can hold markup (``<script>``).

Example:
    >>> table(["a"], [["<b>"]])
    '<table><thead><tr><th>a</th></tr></thead><tbody><tr><td>&lt;b&gt;</td></tr></tbody></table>'
"""
from __future__ import annotations

import base64
import html
from pathlib import Path


def esc(value) -> str:
    """``value`` as text, HTML-escaped (quotes too, so it is safe inside attributes)."""
    return html.escape(str(value), quote=True)


def fmt(value, digits: int = 4) -> str:
    """A number for a table cell: floats to ``digits`` significant figures, None as a dash.

    Example:
        >>> fmt(0.123456), fmt(None), fmt(12)
        ('0.1235', '–', '12')
    """
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"


def table(header, rows, numeric_from: int = 1) -> str:
    """An HTML table; cells are escaped; columns from ``numeric_from`` on align right."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{esc(c)}</td>' if i >= numeric_from
                         else f"<td>{esc(c)}</td>" for i, c in enumerate(row)) + "</tr>"
        for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def image(path: Path, alt: str) -> str:
    """An ``<img>`` with the PNG at ``path`` embedded as a base64 data URI."""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{esc(alt)}">'


def missing(text: str) -> str:
    """The one line that replaces a section whose inputs are missing."""
    return f'<p class="missing">{esc(text)}</p>'


def note(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'
