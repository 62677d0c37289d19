"""``hub.KerasLayer`` from a TF-Hub/Kaggle handle or a local SavedModel, for every domain.

Online, a handle downloads into ``$TFHUB_CACHE_DIR``; offline, pass the directory of a
SavedModel fetched elsewhere (or point ``TFHUB_CACHE_DIR`` at a cache that holds it).
"""
from __future__ import annotations

import os
from pathlib import Path

from transferkit.common.model.weights import WeightsUnavailableError


def hub_keras_layer(handle, backbone: str, **kwargs):
    """``hub.KerasLayer(handle, **kwargs)`` with errors that say what to do.

    Example:
        >>> layer = hub_keras_layer("/models/yamnet", "hub_yamnet")  # doctest: +SKIP

    Raises:
        WeightsUnavailableError: no handle, a local path that does not exist, or a
            handle that could not be downloaded or loaded.
    """
    import tensorflow_hub as hub

    if not handle:
        raise WeightsUnavailableError(backbone, ["no handle given"],
                                      "A TF-Hub model can't be randomly initialised: pass "
                                      "--weights HANDLE_OR_DIR (a SavedModel directory).")
    handle = str(handle)
    local = Path(handle).expanduser()
    remote = "://" in handle or handle.startswith("gs:")
    if not local.exists() and not remote:
        raise WeightsUnavailableError(backbone, [f"local path {handle} (does not exist)"],
                                      "Pass a SavedModel directory or a TF-Hub/Kaggle handle.")
    try:
        return hub.KerasLayer(str(local) if local.exists() else handle, **kwargs)
    except Exception as exc:  # noqa: BLE001 - offline download failure, bad SavedModel
        cache = os.environ.get("TFHUB_CACHE_DIR", "(TFHUB_CACHE_DIR unset: a temp dir)")
        raise WeightsUnavailableError(
            backbone, [f"TF-Hub handle {handle} via cache {cache} "
                       f"({type(exc).__name__}: {str(exc)[:200]})"],
            "Offline: download the model where you are online, then pass its local "
            "directory (or set TFHUB_CACHE_DIR to a cache that holds it).") from exc
