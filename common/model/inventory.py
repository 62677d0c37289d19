"""What ``transferkit backbones`` shows per backbone: contract, feature size, parameter
count, and whether its default weights are on this machine now (no network is tried).

Feature size and parameter count come from building the architecture with random init
once; they are kept in ``<cache>/backbone-sizes.json`` (keyed by name, contract and
transferkit version), so later listings are instant.

Example:
    >>> row = backbone_row(get_backbone_spec("mobilenet_v2"))  # doctest: +SKIP
    >>> row["features"], row["offline"]  # doctest: +SKIP
    (1280, 'no: Keras downloads imagenet on first use')
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from transferkit.common.data.assets import cache_dir
from transferkit.common.io import atomic_write_text
from transferkit.common.model.contracts import AudioContract, ImageContract, TextContract
from transferkit.common.model.weights import keras_cache_dir, named_weights


def describe_contract(contract) -> str:
    """One short line: ``image 224px (tf)``, ``text 128 tokens``, ``audio 16 kHz, 1.0 s``."""
    if isinstance(contract, ImageContract):
        return f"image {contract.size}px x{contract.channels} ({contract.scaling})"
    if isinstance(contract, TextContract):
        return f"text {contract.max_length} tokens"
    if isinstance(contract, AudioContract):
        extra = "" if contract.features == "waveform" else f", {contract.features}"
        return f"audio {contract.sample_rate / 1000:g} kHz, {contract.clip_seconds:g} s{extra}"
    return type(contract).__name__


def _keras_cached(name: str) -> bool:
    models = keras_cache_dir() / "models"
    stems = (name.replace("_", ""), name)
    return models.is_dir() and any(p.name.lower().startswith(stems) for p in models.iterdir())


def _hub_cached(handle: str) -> bool:
    # tensorflow_hub keeps a handle's model under the sha1 of the handle
    root = Path(os.environ.get("TFHUB_CACHE_DIR") or Path(os.environ.get("TMPDIR", "/tmp"))
                / "tfhub_modules")
    return (root / hashlib.sha1(handle.encode("utf8")).hexdigest()).is_dir()


def _hf_cached(handle: str) -> bool:
    home = Path(os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface")
    return (home / "hub" / f"models--{handle.replace('/', '--')}").is_dir()


def offline_status(spec) -> str:
    """``yes (source)`` for the first source present on this machine, else how to get one."""
    if not spec.weight_sources:
        return "given as --weights"
    for source in spec.weight_sources:
        name = source.cached_as or (source.name if source.kind == "named" else "")
        if name and name in named_weights() and named_weights(name).cached() is not None:
            return f"yes ({source.name})"
        if ((source.kind == "keras" and _keras_cached(spec.name))
                or (source.kind == "hub" and _hub_cached(source.handle))
                or (source.kind == "hf" and _hf_cached(source.handle))):
            return f"yes ({source.name})"
    fetchable = next((s.cached_as or s.name for s in spec.weight_sources
                      if (s.cached_as or s.name) in named_weights()), None)
    if fetchable:
        return f"no: transferkit weights fetch {fetchable}"
    where = {"keras": "Keras storage", "hf": "the Hugging Face Hub", "hub": "TF-Hub/Kaggle"}
    return f"no: downloads from {where.get(spec.weight_sources[0].kind, 'its source')}"


def _size_key(spec) -> str:
    from transferkit import __version__

    return f"{spec.name}|{spec.contract!r}|{__version__}"


def measure(spec) -> dict:
    """``{"features": dim, "params": n}`` of the random-init architecture, or ``{}`` when it
    can't be built without weights (TF-Hub handles, own models)."""
    from transferkit.common.model.registry import create_backbone

    try:
        backbone = create_backbone(spec.name, weights=None)
    except Exception:  # noqa: BLE001 -- a builder that needs its weights says so its own way
        return {}
    return {"features": int(backbone.output_shape[-1]),
            "params": int(backbone.model.count_params())}


def sizes(specs, progress=None) -> dict:
    """Feature size and parameter count per spec name, measured once and cached."""
    path = cache_dir() / "backbone-sizes.json"
    try:
        known = json.loads(path.read_text())
    except (OSError, ValueError):
        known = {}
    todo = [s for s in specs if _size_key(s) not in known]
    for spec in (progress(todo) if progress and todo else todo):
        known[_size_key(spec)] = measure(spec)
    if todo:
        atomic_write_text(path, json.dumps(known, indent=1, sort_keys=True) + "\n")
    return {s.name: known[_size_key(s)] for s in specs}


def backbone_row(spec, size: dict | None = None) -> dict:
    from transferkit.common.model.registry import fine_tune_lr

    size = size or {}
    return {"name": spec.name, "domain": spec.domain, "input": describe_contract(spec.contract),
            "features": size.get("features"), "params": size.get("params"),
            "offline": offline_status(spec), "fine_tune_lr": fine_tune_lr(spec),
            "description": spec.description}
