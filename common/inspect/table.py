"""The checks as plain-text tables for the terminal.

Example:
    >>> print(terminal_table(checks, top=10))  # doctest: +SKIP
"""
from __future__ import annotations

from transferkit.common.inspect.checks import summary_line


def terminal_table(checks: dict, top: int = 20) -> str:
    """Balance, the ``top`` likely label issues and near-duplicate pairs, one line summary."""
    lines = [f"data checks: {summary_line(checks)}", ""]
    lines += _balance(checks.get("balance", {}))
    lines += _labels(checks.get("label_issues", {}), top)
    lines += _duplicates(checks.get("duplicates", {}), top)
    return "\n".join(lines).rstrip() + "\n"


def _balance(balance: dict) -> list[str]:
    train = balance.get("train")
    if not train:
        return []
    other = [s for s in balance if s != "train"]
    head = f"{'class':<24}{'train':>8}" + "".join(f"{s:>12}" for s in other) + \
        f"{'weight (balanced)':>20}"
    rows = [f"{name:<24}{count:>8}" + "".join(f"{balance[s]['counts'].get(name, 0):>12}"
                                              for s in other)
            + f"{train['weights'][name]:>20}" for name, count in train["counts"].items()]
    verdict = ("skewed: --class-weight balanced uses the weights above" if train["skewed"]
               else "not skewed")
    return ["class balance"] + [head] + rows + [
        f"largest/smallest training class = {train['imbalance_ratio']:g} ({verdict})", ""]


def _labels(labels: dict, top: int) -> list[str]:
    if "skipped" in labels:
        return [f"label issues: {labels['skipped']}", ""]
    out = [f"likely label issues: {labels['flagged']} of {labels['examples']} "
           f"({labels['flagged_fraction']:.1%}); out-of-fold accuracy {labels['oof_accuracy']:.3f} "
           f"({labels['folds']} folds, C={labels['C']:g})"]
    if labels["ranked"]:
        out.append(f"{'#':>4}  {'split':<11}{'given':<18}{'suggested':<18}{'p(given)':>9}  item")
        out += [f"{n + 1:>4}  {r['split']:<11}{r['given'][:17]:<18}{r['suggested'][:17]:<18}"
                f"{r['p_given']:>9.3f}  {_short(r['item'])}"
                for n, r in enumerate(labels["ranked"][:top])]
    return out + [""]


def _duplicates(dup: dict, top: int) -> list[str]:
    if not dup:
        return []
    out = [f"near-duplicates (cosine >= {dup['threshold']:g})"]
    for g in dup["groups"]:
        where = f"{g['a']} x {g['b']}" if g["leakage"] else f"inside {g['a']}"
        flag = "  LEAKAGE" if g["leakage"] and g["pairs"] else ""
        out.append(f"  {where:<24}{g['pairs']:>7} pair(s){flag}")
    rows = [(g, r) for g in dup["groups"] for r in g["rows"]][:top]
    if rows:
        out.append(f"{'cosine':>8}  {'a':<11}{'b':<11}pair")
        out += [f"{r['cosine']:>8.4f}  {g['a']:<11}{g['b']:<11}{_short(r['a_item'])} "
                f"({r['a_label']})  ~  {_short(r['b_item'])} ({r['b_label']})"
                for g, r in rows]
    return out


def _short(item: str, limit: int = 48) -> str:
    """A text cut at its end; a path (no spaces) cut at its start, keeping the file name."""
    text = " ".join(str(item).split())
    if len(text) <= limit:
        return text
    if "/" in text and " " not in text:
        return "…" + text[-(limit - 1):]
    return text[:limit - 1] + "…"
