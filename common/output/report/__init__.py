"""Run reports: ``write_report(run_dir)`` writes ``report.html`` and its PNGs into a run
directory; ``compare_runs(run_dirs)`` puts several runs side by side as text.

Example:
    >>> from transferkit.common.output.report import compare_runs, write_report
    >>> write_report("runs/flowers")  # doctest: +SKIP
    PosixPath('runs/flowers/report.html')
    >>> print(compare_runs(["runs/a", "runs/b"]))  # doctest: +SKIP
"""
from transferkit.common.output.report.compare import compare_runs
from transferkit.common.output.report.page import write_report

__all__ = ["compare_runs", "write_report"]
