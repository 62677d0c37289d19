"""The "Data checks" report section (from ``data_checks.json``) and ``inspect.html``.

Both draw the same dict (:func:`transferkit.common.inspect.checks.run_checks`): class
balance, the likeliest label issues, near-duplicate pairs, leakage across splits first.
Vision data gets image grids (the worst-examples tiles), text and speech get tables.

Example:
    >>> write_checks_page(checks, Path("inspect/inspect.html"), root=Path("inspect"))  # doctest: +SKIP
"""
from __future__ import annotations

from pathlib import Path

from transferkit.common.io import atomic_write_text
from transferkit.common.output.report import markup
from transferkit.common.output.report.examples import (Example, item_list, plot_image_grid,
                                                       text_table)
from transferkit.common.output.report.inputs import RunInputs, read_json

SHOWN = 16  # rows and tiles per list


def data_checks_section(run: RunInputs, out: Path) -> str:
    """The section of ``report.html``: ``data_checks.json`` of the run, drawn."""
    path = run.run_dir / "data_checks.json"
    if not path.is_file():
        return markup.note("no data_checks.json: this run was trained with --data-checks "
                           "false (or by a version without them); transferkit inspect runs "
                           "the checks on the data")
    checks = read_json(path)
    if "skipped" in checks:
        return markup.note(f"data checks skipped: {checks['skipped']}")
    return render_checks(checks, run.domain, out, root=run.run_dir)


def render_checks(checks: dict, domain: str, out: Path, root: Path | None = None) -> str:
    """HTML of the checks; PNG grids (vision) are written into ``out``."""
    from transferkit.common.inspect.checks import summary_line

    parts = [markup.note(summary_line(checks))]
    parts += _balance(checks.get("balance", {}))
    parts += _labels(checks.get("label_issues", {}), domain, out, root)
    parts += _duplicates(checks.get("duplicates", {}), domain, out, root)
    return "".join(parts)


def _balance(balance: dict) -> list[str]:
    train = balance.get("train")
    if not train:
        return []
    other = [s for s in balance if s != "train"]
    rows = [[name, count] + [balance[s]["counts"].get(name, 0) for s in other]
            + [train["weights"][name]] for name, count in train["counts"].items()]
    verdict = (markup.missing(f"the training classes are skewed (largest/smallest = "
                              f"{train['imbalance_ratio']:g}): --class-weight balanced uses "
                              f"the weights above") if train["skewed"] else
               markup.note(f"largest/smallest training class = {train['imbalance_ratio']:g}"))
    return ["<h3>Class balance</h3>",
            markup.table(["class", "train"] + other + ["balanced weight"], rows), verdict]


def _labels(labels: dict, domain: str, out: Path, root) -> list[str]:
    html = ["<h3>Likely label issues</h3>"]
    if "skipped" in labels or not labels:
        return html + [markup.missing(labels.get("skipped", "not checked"))]
    html.append(markup.note(
        f"{labels['flagged']} of {labels['examples']} examples ({labels['flagged_fraction']:.1%})"
        f" flagged by {labels['method']}; out-of-fold accuracy {labels['oof_accuracy']:.3f} "
        f"({labels['folds']} folds, C={labels['C']:g}). Likeliest first; the title reads "
        f"given → suggested (probability of the given label)."))
    examples = [Example(r["item"], r["given"], r["suggested"], r["p_given"])
                for r in labels["ranked"][:SHOWN]]
    if examples:
        html.append(_examples(examples, domain, out / "label_issues.png", root,
                              [r["split"] for r in labels["ranked"][:SHOWN]]))
    return html


def _duplicates(dup: dict, domain: str, out: Path, root) -> list[str]:
    if not dup:
        return []
    if "skipped" in dup:
        return ["<h3>Near-duplicates and leakage</h3>", markup.missing(dup["skipped"])]
    groups = [[f"{g['a']} × {g['b']}" if g["leakage"] else f"inside {g['a']}",
               "leakage" if g["leakage"] and g["pairs"] else "", g["pairs"]]
              for g in dup["groups"]]
    html = ["<h3>Near-duplicates and leakage</h3>",
            markup.note(f"Pairs with {dup['metric']} at or above {dup['threshold']:g}; a pair "
                        f"across splits lets the held-out score measure memory."),
            markup.table(["where", "", "pairs"], groups, numeric_from=2)]
    rows = [(g, r) for g in dup["groups"] for r in g["rows"]][:SHOWN // 2]
    if not rows:
        return html
    html.append(markup.table(
        ["cosine", "split a", "item a", "label a", "split b", "item b", "label b"],
        [[f"{r['cosine']:.4f}", g["a"], _short(r["a_item"]), r["a_label"], g["b"],
          _short(r["b_item"]), r["b_label"]] for g, r in rows], numeric_from=7))
    if domain == "vision":
        tiles = [t for _, r in rows for t in (
            Example(r["a_item"], r["a_label"], r["b_label"], r["cosine"]),
            Example(r["b_item"], r["b_label"], r["a_label"], r["cosine"]))]
        grid = plot_image_grid(tiles, out / "duplicates.png", root=root)
        html.append(markup.note("Each pair side by side: label → the other's label (cosine)."))
        html.append(markup.image(grid, "near-duplicate pairs"))
    return html


def _examples(examples: list[Example], domain: str, path: Path, root, splits) -> str:
    if domain == "vision":
        grid = plot_image_grid(examples, path, root=root)
        return markup.image(grid, "likely label issues") + item_list(examples)
    if domain == "text":
        return text_table(examples)
    return markup.table(["#", "split", "clip", "given", "suggested", "p(given)"],
                        [[n + 1, s, Path(e.item).name or e.item, e.true, e.pred, f"{e.p:.3f}"]
                         for n, (e, s) in enumerate(zip(examples, splits))], numeric_from=5)


def _short(item: str, limit: int = 80) -> str:
    text = " ".join(str(item).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def write_checks_page(checks: dict, path: Path, root: Path | None = None) -> Path:
    """``inspect.html``: the checks on one self-contained page (PNGs embedded)."""
    from transferkit.common.output.report.page import _STYLE as STYLE  # one look for both pages

    path = Path(path)
    facts = [(k, checks[k]) for k in ("data", "domain", "backbone", "weights") if k in checks]
    facts += [(f"{s} examples", n) for s, n in checks.get("counts", {}).items()]
    header = "<dl class=\"facts\">" + "".join(
        f"<dt>{markup.esc(k)}</dt><dd>{markup.esc(v)}</dd>" for k, v in facts) + "</dl>"
    body = render_checks(checks, checks.get("domain", ""), path.parent, root=root)
    title = markup.esc(f"{checks.get('data', 'data')} — transferkit inspect")
    atomic_write_text(path, f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                            f"<title>{title}</title><style>{STYLE}</style></head>\n<body>"
                            f"<h1>Data checks</h1>{header}{body}</body></html>\n")
    return path
