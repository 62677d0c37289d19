"""Helpers shared by tests that edit a finished run directory."""
import json
from pathlib import Path


def set_temperature(run_dir: Path, temperature: float) -> Path:
    """Write ``temperature`` into the run's ``calibration.json``, keeping its other fields."""
    path = Path(run_dir) / "calibration.json"
    calibration = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**calibration, "temperature": temperature}))
    return Path(run_dir)
