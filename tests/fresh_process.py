"""Run ``transferkit predict`` in a new Python process, as a user does.

In-process CLI tests share whatever earlier tests imported (for example the ops that
tensorflow-text registers); a fresh process has only the run directory and the package.
"""
import json
import subprocess
import sys


def predict_in_fresh_process(run_dir, *inputs) -> list[dict]:
    """``transferkit predict RUN --json INPUTS`` in a subprocess; its JSON rows."""
    done = subprocess.run([sys.executable, "-m", "transferkit.common.cli.parser", "predict",
                           str(run_dir), "--json", *map(str, inputs)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
