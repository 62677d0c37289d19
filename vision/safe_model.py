"""Read a user's model file's architecture before anything in it is deserialised.

A ``Lambda`` layer's function is Python bytecode that runs when the model is rebuilt, and a
custom class runs whatever code it names. ``.keras`` files have Keras' safe mode; ``.h5``
files, SavedModels and ``model_from_json`` have none. So the architecture is read here as
plain data first: the ``model_config`` attribute of an ``.h5`` (h5py), ``config.json`` inside
a ``.keras`` zip, ``keras_metadata.pb`` of a SavedModel (a protobuf of JSON strings), or the
architecture JSON itself. Every class it names must be a built-in tf_keras one (or one that
transferkit registers); anything else is refused, naming the file, the layer and its class,
unless the user passed ``--trust-model-code``.

Example:
    >>> check_model_file(Path("my_model.h5"))  # doctest: +SKIP
    UnsafeModelError: my_model.h5: layer 'touch' is a Lambda layer ...
"""
from __future__ import annotations

import functools
import json
import zipfile
from pathlib import Path

from transferkit.common.keras import keras

TRUST_FLAG = "--trust-model-code"
_MODELS = {"Functional", "Sequential", "Model", "TFOpLambda", "SlicingOpLambda",
           "InstanceProperty", "InstanceMethod", "ClassMethod", "TrackableWeightHandler"}
_VALUES = {"__tensor__", "__numpy__", "__bytes__", "__typespec__", "__tuple__", "function",
           "TensorShape", "TypeSpec", "InputSpec"}
_ARCHITECTURE = ("class_name", "module", "registered_name", "name", "config")
_REFUSED = {"Lambda", "__lambda__"}


class UnsafeModelError(ValueError):
    """A user's model names code that loading it would run (a Lambda or a custom class)."""


@functools.lru_cache(maxsize=1)
def builtin_classes() -> frozenset:
    """Class names tf_keras itself deserialises: layers, models, initialisers, metrics ..."""
    names = set(_MODELS | _VALUES)
    for module in (keras.layers, keras.initializers, keras.regularizers, keras.constraints,
                   keras.metrics, keras.losses, keras.optimizers, keras.mixed_precision):
        names |= {n for n, v in vars(module).items() if isinstance(v, type)}
    return frozenset(names - _REFUSED)


def architecture_json(path: Path) -> tuple[list, str]:
    """The architecture's JSON objects in ``path`` and what they were read from.

    Only the parts that rebuild the model are kept: a compile or training config (its
    optimizer, never deserialised with ``compile=False``) is left out.

    Raises:
        UnsafeModelError: a SavedModel without ``keras_metadata.pb`` (nothing to inspect).
        ValueError: an ``.h5`` without ``model_config`` (weights only).
    """
    path = Path(path)
    if path.is_dir():
        return _saved_model_configs(path), "its keras_metadata.pb"
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return [_architecture(json.loads(archive.read("config.json")))], "its config.json"
    if path.suffix.lower() == ".json":
        return [_architecture(json.loads(path.read_text()))], "the architecture JSON"
    import h5py

    with h5py.File(path, "r") as h5:
        raw = h5.attrs.get("model_config")
    if raw is None:
        raise ValueError(f"{path} holds weights only (no model_config): a weights-only file "
                         f"needs its architecture: architecture=model.json")
    return [_architecture(json.loads(raw.decode() if isinstance(raw, bytes) else raw))], \
        "its model_config"


def _architecture(config) -> dict:
    # anything else is no model config, and fails in Keras before any layer is built
    return {k: config[k] for k in _ARCHITECTURE if k in config} if isinstance(config, dict) \
        else {}


def _saved_model_configs(path: Path) -> list:
    from tf_keras.protobuf import saved_metadata_pb2

    meta_file = path / "keras_metadata.pb"
    if not meta_file.is_file():
        raise UnsafeModelError(
            f"{path}: a SavedModel without keras_metadata.pb can't be inspected before "
            f"loading. {how_to_proceed()}")
    meta = saved_metadata_pb2.SavedMetadata()
    meta.ParseFromString(meta_file.read_bytes())
    # one node per layer, model and metric; its build shapes and specs are plain data
    return [_architecture(json.loads(node.metadata)) for node in meta.nodes if node.metadata]


def find_unsafe(config) -> tuple[str, str] | None:
    """``(layer name, class name)`` of the first object in ``config`` that names code."""
    if isinstance(config, list):
        return next(filter(None, map(find_unsafe, config)), None)
    if not isinstance(config, dict):
        return None
    if "class_name" in config and not _is_safe(config):
        inner = config.get("config")
        name = inner.get("name") if isinstance(inner, dict) else config.get("name")
        return str(name or "?"), str(config.get("registered_name") or config["class_name"])
    return next(filter(None, map(find_unsafe, config.values())), None)


def _is_safe(config: dict) -> bool:
    cls = str(config["class_name"])
    registered = str(config.get("registered_name") or cls)
    if ">" in registered:  # a registered custom class: only transferkit's own are known code
        return registered.startswith("transferkit>") and \
            keras.utils.get_registered_object(registered) is not None
    module = str(config.get("module") or "keras")
    if not module.startswith(("keras", "tf_keras")) and not (
            module == "builtins" and cls.startswith("__")):
        return False  # a .keras entry that imports another module (or a builtin function)
    inner = config.get("config")
    if isinstance(inner, dict) and "function_type" in inner:
        return False  # a serialised Python function, whatever the class says
    return cls in builtin_classes()


def how_to_proceed() -> str:
    return (f"If you trust this file, pass {TRUST_FLAG} (--option trust_model_code=true); "
            f"otherwise save the weights only (model.save_weights('w.h5')) and rebuild the "
            f"architecture without Lambda or custom layers, then pass --weights w.h5 "
            f"--option architecture=model.json")


def check_model_file(path: Path, what: str = "") -> None:
    """Refuse ``path`` when its architecture names a Lambda or a non-built-in class.

    Raises:
        UnsafeModelError: naming the file, the layer, its class and how to proceed.
    """
    configs, source = architecture_json(path)
    found = find_unsafe(configs)
    if found is not None:
        layer, cls = found
        kind = "a Lambda layer, whose Python code" if cls in _REFUSED else (
            f"class {cls!r}, not a built-in tf_keras layer, whose code")
        raise UnsafeModelError(
            f"{path}{what}: layer {layer!r} is {kind} would run on loading (read from "
            f"{source}); refused. {how_to_proceed()}")
