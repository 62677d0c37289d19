"""The report's "Domain adaptation" section: what ``transferkit adapt`` changed in this run.

Reads ``adaptation.json``; a run that was never adapted says so in one line. The file also
names the sha256 of the weights it was written with, so a run retrained in place afterwards
is not described by a stale adaptation.

Example:
    >>> html = adaptation_section(read_run("runs/fmnist-adabn"), Path("runs/fmnist-adabn"))  # doctest: +SKIP
"""
from __future__ import annotations

from pathlib import Path

from transferkit.common.output.report import markup
from transferkit.common.output.report.inputs import RunInputs, read_json

FILE = "adaptation.json"
TOP_LAYERS = 12  # the layers that moved most, in the table


def adaptation_section(run: RunInputs, out: Path) -> str:
    """Method, target, the variables that changed and by how much, accuracy before/after."""
    path = run.run_dir / FILE
    if not path.is_file():
        return markup.note("not adapted (no adaptation.json): transferkit adapt RUN --target "
                           "DIR --out NEW_RUN writes an adapted copy")
    info = read_json(path)
    stale = _stale(run.run_dir, info)
    if stale:
        return markup.missing(stale)
    method = info.get("method")
    if method == "adabn":
        method += (" against the source inputs' BN statistics" if info.get("reference") ==
                   "source" else " (classic: the target's statistics replace the backbone's)")
    facts = [("method", method), ("adapted from", info.get("source_run")),
             ("target inputs", f"{info.get('target_items')} from {info.get('target')}"),
             ("target labels used", "no (unsupervised)"),
             ("variables changed", f"{len(info.get('changed_variables', []))} "
                                   f"({info.get('unchanged_variables')} bit-identical)")]
    html = "<dl class=\"facts\">" + "".join(
        f"<dt>{markup.esc(k)}</dt><dd>{markup.esc(v)}</dd>" for k, v in facts) + "</dl>"
    html += _before_after(info) + _detail(info)
    return html + markup.note("The figures above this section (validation/test, confusion "
                              "matrix, curves) are the source run's, measured on the source "
                              "domain before adaptation.")


def _stale(run_dir: Path, info: dict) -> str:
    from transferkit.common.data.assets import sha256_of

    weights, want = run_dir / "model_weights.h5", info.get("model_weights_sha256")
    if want and weights.is_file() and sha256_of(weights) != want:
        return (f"{FILE} describes other weights than this run's model_weights.h5 (the run "
                f"was retrained after adaptation): it is stale")
    return ""


def _before_after(info: dict) -> str:
    before, after = info.get("before"), info.get("after")
    if not isinstance(before, dict) or not isinstance(after, dict):
        return markup.note("no labelled target data given (--eval-data): no before/after "
                           "figures")
    keys = [k for k in ("accuracy", "macro_f1", "n") if k in before]
    rows = [[k, markup.fmt(before.get(k)), markup.fmt(after.get(k))] for k in keys]
    return (f"<p>On {markup.esc(info.get('eval_data'))} (labels used for evaluation only):</p>"
            + markup.table(["metric", "before", "after"], rows))


def _detail(info: dict) -> str:
    if info.get("method") == "coral":
        return markup.note(f"CORAL map (shrinkage {info.get('shrinkage')}) from "
                           f"{info.get('source_items')} source inputs, folded into the "
                           f"head's {info.get('folded_into')} layer; mean diagonal "
                           f"{markup.fmt(info.get('transform_diag_mean'))}, off-diagonal "
                           f"norm {markup.fmt(info.get('transform_offdiag_norm'))}")
    layers = sorted(info.get("per_layer", []), key=lambda r: -r.get("mean_shift", 0))
    rows = [[r["name"], r["channels"], markup.fmt(r["mean_shift"]),
             markup.fmt(r["max_mean_shift"]), markup.fmt(r["std_ratio"])]
            for r in layers[:TOP_LAYERS]]
    title = (f"<p>{info.get('layers')} BatchNorm layers re-estimated (moving mean and "
             f"variance only); the {len(rows)} that moved most, shift in units of the old "
             f"standard deviation:</p>")
    return title + markup.table(["layer", "channels", "mean shift", "max shift",
                                 "std ratio (new/old)"], rows)
