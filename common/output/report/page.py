"""``report.html``: one self-contained page per run, its PNGs embedded as data URIs.

The page needs nothing beside it (no CSS, JS or image files), so it can be mailed or
attached to an issue; the PNGs are also written beside it for slides.

Example:
    >>> write_report("runs/flowers")  # doctest: +SKIP
    PosixPath('runs/flowers/report.html')
"""
from __future__ import annotations

import logging
from pathlib import Path

from transferkit.common.io import atomic_write_text
from transferkit.common.output.report import adaptation, classes, markup, sections
from transferkit.common.output.report.inputs import RunInputs, read_run
from transferkit.common.output.report.data_checks import data_checks_section

log = logging.getLogger(__name__)

_COMMON_TAIL = [("Feature map", sections.feature_map_section),
                ("Worst examples", sections.worst_section),
                ("Domain adaptation", adaptation.adaptation_section)]
SECTIONS = {
    "multiclass": [("Training curves", sections.curves_section),
                   ("Confusion matrix", classes.confusion_section),
                   ("Per-class metrics", classes.per_class_section),
                   ("Calibration", classes.calibration_section)] + _COMMON_TAIL,
    "multilabel": [("Training curves", sections.curves_section),
                   ("Per-label metrics", classes.per_class_section),
                   ("Decision thresholds", classes.thresholds_section)] + _COMMON_TAIL,
    "regression": [("Training curves", sections.curves_section),
                   ("Predicted vs true", sections.regression_section),
                   ("Feature map", sections.feature_map_section),
                   ("Domain adaptation", adaptation.adaptation_section)],
}
for _listed in SECTIONS.values():  # every task's report ends with the data checks
    _listed.append(("Data checks", data_checks_section))

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
       max-width: 1100px; margin: 2em auto; padding: 0 1em; line-height: 1.45; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; margin-top: 2em; }
img { max-width: 100%; height: auto; display: block; margin: 0.8em 0; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left;
         vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; white-space: nowrap;
                                  font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: #fafafa; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: 0.1em 1em; }
dl.facts dt { font-weight: 600; } dl.facts dd { margin: 0; }
.missing { color: #8a4b00; background: #fff6e5; border-left: 4px solid #f0a020;
           padding: 0.4em 0.8em; }
.note { color: #555; } ol.items { font-size: 0.85em; color: #444; word-break: break-all; }
"""

# Counted on load, so a headless browser's --dump-dom shows whether every image decoded.
_SCRIPT = """
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var broken = images.filter(function (img) { return !(img.complete && img.naturalWidth > 0); });
  document.body.dataset.images = String(images.length);
  document.body.dataset.brokenImages = String(broken.length);
});
"""


def write_report(run_dir) -> Path:
    """Write the run's PNGs and ``report.html`` into ``run_dir``; return the page's path.

    A section whose inputs are missing becomes one line saying what is missing; nothing
    that a run directory lacks makes this raise.

    Example:
        >>> write_report("runs/flowers")  # doctest: +SKIP
        PosixPath('runs/flowers/report.html')
    """
    run = read_run(run_dir)
    parts = [_section(title, build, run) for title, build in SECTIONS.get(
        run.task, SECTIONS["multiclass"])]
    path = run.run_dir / "report.html"
    atomic_write_text(path, render_page(run, parts))
    return path


def _section(title: str, build, run: RunInputs) -> str:
    return f"<section><h2>{markup.esc(title)}</h2>{_body(title, build, run)}</section>"


def _body(title: str, build, run: RunInputs) -> str:
    try:
        return build(run, run.run_dir)
    except (ValueError, KeyError, IndexError, TypeError, OSError) as exc:
        # A report is written at the end of training: one odd input must not cost the run.
        log.warning("report: section %r of %s failed: %s", title, run.run_dir, exc)
        return markup.missing(f"this section could not be drawn ({type(exc).__name__}: {exc})")


def render_page(run: RunInputs, parts: list[str]) -> str:
    """The whole HTML page: header, then ``parts`` (already rendered sections)."""
    title = markup.esc(f"{run.name} — transferkit report")
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{title}</title><style>{_STYLE}</style><script>{_SCRIPT}</script></head>\n"
            f"<body><header><h1>{markup.esc(run.name)}</h1>"
            f"{_body('header', sections.header_section, run)}</header>\n"
            + "\n".join(parts) + "\n</body></html>\n")
