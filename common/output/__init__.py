"""Out: evaluation metrics, SavedModel / .keras / TFLite export, and reloading a run directory."""
