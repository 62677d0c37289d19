"""Data checks on cached features: likely label issues, near-duplicates and leakage, balance.

``transferkit inspect`` runs them on a dataset (:func:`audit.inspect_data`); every training
run writes them to ``data_checks.json`` (:func:`checks.write_data_checks`).

Example:
    >>> from transferkit.common.inspect.checks import run_checks
    >>> checks = run_checks(features, splits, codec)  # doctest: +SKIP
"""
