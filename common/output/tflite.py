"""TFLite conversion (builtin ops only), its interpreter, and the older run-dir entry point.

``tf.lite.TFLiteConverter`` still converts in TF 2.21. Models run in LiteRT's interpreter
(``ai-edge-litert``, the successor of the deprecated ``tf.lite.Interpreter``) when it is
installed, else in ``tf.lite.Interpreter``; :func:`interpreter_name` says which, and every
parity record names it.

Quantisation: ``"dynamic"`` (int8 weights, float activations), ``"float16"`` (float16
weights), ``"int8"`` (int8 weights and activations calibrated on a representative dataset,
float input and output, float kernels where an op has no int8 one).

Example:
    >>> content = convert_model(calibrated_model, "int8", representative=batches)  # doctest: +SKIP
    >>> TFLitePredictor(content).predict(images)  # doctest: +SKIP
"""
from __future__ import annotations

import os
import re
import sys
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from transferkit.common.output.export import SAVED_MODEL, serving_signature
from transferkit.common.io import atomic_path
from transferkit.common.keras import tf

QUANTIZE = ("dynamic", "float16", "int8")
TFLITE_FILE = "model.tflite"


class TFLiteConversionError(RuntimeError):
    """The converter refused the model; ``ops`` names the TF ops TFLite lacks, if any."""

    def __init__(self, message: str, ops: tuple = ()):
        super().__init__(message)
        self.ops = tuple(ops)


def _interpreter_class():
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        return tf.lite.Interpreter
    return Interpreter


def interpreter_name() -> str:
    """``"ai_edge_litert <version>"`` or ``"tf.lite.Interpreter (TensorFlow <version>)"``."""
    if _interpreter_class() is tf.lite.Interpreter:
        return f"tf.lite.Interpreter (TensorFlow {tf.__version__})"
    from importlib.metadata import version

    return f"ai_edge_litert {version('ai-edge-litert')}"


def _interpreter(model_content: bytes):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter's deprecation notice
        return _interpreter_class()(model_content=model_content)


class TFLitePredictor:
    """A TFLite flatbuffer called like ``model.predict`` through its default signature.

    Inputs are resized to each batch and zero-padded to any longer fixed size; a dict batch
    is matched by input name.
    """

    takes_strings = False

    def __init__(self, content: bytes):
        self.interpreter = _interpreter(content)
        self.interpreter_name = interpreter_name()
        self._runner = self.interpreter.get_signature_runner()
        details = self._runner.get_input_details()
        self._names = list(details)
        self.input_specs = {name: tf.TensorSpec([None if s < 0 else int(s) for s in
                                                 d["shape_signature"]], d["dtype"])
                            for name, d in details.items()}

    def __call__(self, batch) -> np.ndarray:
        if isinstance(batch, dict):
            feed = {k: np.asarray(batch[k]) for k in self._names}
        else:
            feed = {self._names[0]: np.asarray(batch)}
        feed = {k: pad_to(v.astype(self.input_specs[k].dtype.as_numpy_dtype),
                           self.input_specs[k].shape) for k, v in feed.items()}
        out = self._runner(**feed)
        return np.asarray(out[sorted(out)[0]])

    def predict(self, data, batch_size: int = 64, verbose: int = 0) -> np.ndarray:
        """Outputs for a batched ``tf.data.Dataset`` or one array/batch."""
        if isinstance(data, tf.data.Dataset):
            parts = [self(_numpy(b[0] if isinstance(b, tuple) else b)) for b in data]
            return np.concatenate(parts) if parts else np.zeros((0,))
        return self(_numpy(data))


def pad_to(array: np.ndarray, shape) -> np.ndarray:
    """Zero-pad ``array`` at the end of each dimension the model fixes at a larger size
    (token ids, mask and type ids to the fixed sequence length: masked, so no effect)."""
    pads = [(0, max(0, int(want) - have)) if want is not None else (0, 0)
            for have, want in zip(array.shape, shape.as_list())]
    return np.pad(array, pads) if any(p for _, p in pads) else array


def _numpy(batch):
    if isinstance(batch, dict):
        return {k: np.asarray(v) for k, v in batch.items()}
    return np.asarray(batch)


def convert_model(model, quantize: str | None = None, representative=None) -> bytes:
    """The TFLite flatbuffer of a tf_keras model, TFLite builtin ops only.

    Args:
        quantize: None, or one of :data:`QUANTIZE`.
        representative: For ``"int8"``: a callable returning an iterable of input batches
            (an array, or a list of arrays in the model's input order), one example each.

    Raises:
        TFLiteConversionError: naming the TF ops TFLite has no builtin for.
    """
    fn = serving_signature(model).get_concrete_function()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        converter = tf.lite.TFLiteConverter.from_concrete_functions([fn], model)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        _set_quantization(converter, quantize, representative)
        try:
            with _native_stderr_quiet():
                return converter.convert()
        except Exception as exc:  # the converter raises several private error types
            ops = unsupported_ops(exc)
            raise TFLiteConversionError(
                f"cannot be converted to TFLite builtin ops: {_reason(exc, ops)}", ops) from exc


@contextmanager
def _native_stderr_quiet():
    """Silence the converter's native diagnostics (pages of MLIR locations per failed op);
    its exception carries the summary that matters."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _set_quantization(converter, quantize: str | None, representative) -> None:
    if quantize in (None, "none"):
        return
    if quantize not in QUANTIZE:
        raise ValueError(f"quantize must be one of {QUANTIZE} or None, got {quantize!r}")
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if quantize == "int8":
        if representative is None:
            raise ValueError("int8 quantization needs a representative dataset")
        converter.representative_dataset = lambda: (
            [np.asarray(x)] if not isinstance(x, list) else x for x in representative())


def unsupported_ops(exc: Exception) -> tuple:
    """The TF op names a converter error lists (``tf.AudioMicrofrontend`` -> its name)."""
    found = set(re.findall(r"\btf\.([A-Z][A-Za-z0-9]+)\b", str(exc))) - {"Placeholder"}
    return tuple(sorted(found))


def _reason(exc: Exception, ops: tuple) -> str:
    if ops:
        return "unsupported op(s) " + ", ".join(ops)
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return (lines or [type(exc).__name__])[0][:300]


def export_tflite(run_dir, quantize: str = "none") -> tuple[Path, float]:
    """``run_dir/model.tflite``, as transferkit wrote it before ``export_run``.

    For a run directory this is ``export_run(run_dir, "tflite", quantize)`` (parity-checked,
    written to ``run_dir/export/tflite[-quantize]/``) with the file also copied to
    ``run_dir/model.tflite``. A bare ``saved_model/`` folder is converted as it is, TF
    select ops allowed, and checked against the SavedModel on one random float input.

    Returns:
        The path and the max absolute difference from the reference (the parity check's on
        held-out examples for a run; NaN where the file needs the Flex delegate).
    """
    run_dir = Path(run_dir)
    quantize = None if quantize in (None, "none") else quantize
    if not (run_dir / "config.json").exists():
        return _export_saved_model(run_dir, quantize or "none")
    from transferkit.common.output.export_run import export_run

    result = export_run(run_dir, "tflite", quantize)
    path = run_dir / TFLITE_FILE
    with atomic_path(path) as tmp:
        tmp.write_bytes((result.out_dir / TFLITE_FILE).read_bytes())
    return path, result.parity.max_abs_diff


def _export_saved_model(run_dir: Path, quantize: str) -> tuple[Path, float]:
    content = _convert_saved_model(run_dir, quantize)
    path = run_dir / TFLITE_FILE
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


def _convert_saved_model(run_dir: Path, quantize: str) -> bytes:
    """The TFLite flatbuffer of ``run_dir``'s SavedModel (builtins, then TF select ops)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        converter = tf.lite.TFLiteConverter.from_saved_model(str(run_dir / SAVED_MODEL))
        _set_quantization(converter, quantize, None)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS,
                                               tf.lite.OpsSet.SELECT_TF_OPS]
        try:
            return converter.convert()
        except Exception as exc:  # the converter raises several private error types
            raise TFLiteConversionError(
                f"{run_dir}: this model cannot be converted to TFLite: "
                f"{_reason(exc, unsupported_ops(exc))}; serve the SavedModel in "
                f"{run_dir / SAVED_MODEL} instead.", unsupported_ops(exc)) from exc


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
