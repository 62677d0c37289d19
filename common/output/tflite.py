"""TFLite export from a run's SavedModel, checked against the SavedModel.

``tf.lite.TFLiteConverter`` and ``tf.lite.Interpreter`` still work in TF 2.21 (deprecated;
``ai-edge-litert`` is the interpreter's successor and is used when installed).
"""
from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path

import numpy as np

from transferkit.common.output.export import SAVED_MODEL
from transferkit.common.io import atomic_path
from transferkit.common.keras import tf


def _interpreter(model_content: bytes):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        Interpreter = tf.lite.Interpreter
    return Interpreter(model_content=model_content)


def export_tflite(run_dir, quantize: str = "none") -> tuple[Path, float]:
    """Convert ``run_dir/saved_model`` to ``run_dir/model.tflite``.

    Args:
        quantize: ``"none"``, ``"dynamic"`` (int8 weights) or ``"float16"``.

    Returns:
        The path and the max absolute difference between TFLite and the SavedModel on one
        random input (float inputs only; 0.0 is reported when the input isn't float; NaN
        when the file needs the Flex delegate, which the local interpreter lacks).
    """
    run_dir = Path(run_dir)
    content = _convert(run_dir, quantize)
    path = run_dir / "model.tflite"
    with atomic_path(path) as tmp:
        tmp.write_bytes(content)
    try:
        return path, _compare(run_dir, content)
    except RuntimeError as exc:
        if "Flex" not in str(exc):
            raise
        # Converted with TF select ops: valid, but this interpreter has no Flex delegate.
        print(f"[transferkit] {path} uses TF select (Flex) ops: run it with the Flex "
              "delegate (tensorflow-lite-select-tf-ops); not checked against the SavedModel "
              "here", file=sys.stderr)
        return path, float("nan")


def _convert(run_dir: Path, quantize: str) -> bytes:
    """The TFLite flatbuffer of ``run_dir``'s SavedModel (builtins, then TF select ops)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        converter = tf.lite.TFLiteConverter.from_saved_model(str(run_dir / SAVED_MODEL))
        if quantize in {"dynamic", "float16"}:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS,
                                               tf.lite.OpsSet.SELECT_TF_OPS]
        try:
            return converter.convert()
        except Exception as exc:  # the converter raises several private error types
            raise RuntimeError(
                f"{run_dir}: this model cannot be converted to TFLite: {_first_line(exc)}. "
                "It uses an op that neither TFLite builtins nor TF select ops provide (for "
                "example the speech audio_microfrontend op); serve the SavedModel in "
                f"{run_dir / SAVED_MODEL} instead.") from exc


def _first_line(exc: Exception) -> str:
    """The unsupported TF ops the converter names, else its first line."""
    ops = sorted(set(re.findall(r"\btf\.([A-Z][A-Za-z0-9]+)\b", str(exc))))
    if ops:
        return "unsupported op(s) " + ", ".join(ops)
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return (lines or [type(exc).__name__])[0][:300]


def _compare(run_dir: Path, content: bytes) -> float:
    interpreter = _interpreter(content)
    detail = interpreter.get_input_details()[0]
    if detail["dtype"] != np.float32:
        return 0.0
    shape = [1 if d < 0 else int(d) for d in detail["shape_signature"]]
    x = np.random.default_rng(0).uniform(0, 255, shape).astype(np.float32)
    interpreter.resize_tensor_input(detail["index"], shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(detail["index"], x)
    interpreter.invoke()
    got = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    fn = tf.saved_model.load(str(run_dir / SAVED_MODEL)).signatures["serving_default"]
    want = next(iter(fn(tf.constant(x)).values())).numpy()
    return float(np.max(np.abs(got - want)))
