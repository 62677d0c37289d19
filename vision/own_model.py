"""Your own saved tf_keras model as a backbone (the seeds' own-model transfer).

``weights`` is the model: a full model file (``.h5``/``.keras``) or SavedModel directory, or
a weights-only ``.h5`` together with ``architecture=model.json`` (``model.to_json()``).
Nothing in the file runs on loading: a Lambda or custom layer is refused unless the user
passes ``--trust-model-code`` (:mod:`transferkit.vision.safe_model`).
The model is cut before its last layer (or at ``cut``) and its output is the feature vector.
Images are fed at the contract's size and channels, scaled to [0, 1], flattened when the
model takes vectors (an MLP on 28×28 images takes 784 values) and without the channel axis
when it takes ``[28, 28]`` (``Flatten(input_shape=(28, 28))``, the classic Fashion-MNIST MLP).
"""
from __future__ import annotations

import math
from pathlib import Path

from tf_keras.src.saving.serialization_lib import SafeModeScope

from transferkit.common.model.contracts import ImageContract
from transferkit.common.keras import keras
from transferkit.common.model.registry import register_backbone
from transferkit.common.model.weights import WeightsUnavailableError
from transferkit.vision.preprocessing import ImageScaling, image_input
from transferkit.vision.safe_model import check_model_file


def load_user_model(path, architecture: str = "", trust_model_code: bool = False) -> keras.Model:
    """Load a user's model from a full model file/dir, or weights + architecture JSON.

    Unless ``trust_model_code``, the architecture is inspected first
    (:func:`~transferkit.vision.safe_model.check_model_file`) and ``.keras`` files load in
    Keras' safe mode: a Lambda layer or a custom class is refused, never run.

    Raises:
        UnsafeModelError: the file names code and ``trust_model_code`` is off.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise WeightsUnavailableError("own_model", [f"{path} (does not exist)"],
                                      "Pass your saved model with --weights PATH.")
    if not trust_model_code:
        check_model_file(Path(architecture) if architecture else path,
                         f" (architecture of {path})" if architecture else "")
    try:
        with SafeModeScope(not trust_model_code):  # .h5 and SavedModel Lambdas too
            if architecture:
                model = keras.models.model_from_json(Path(architecture).read_text())
                model.load_weights(str(path))
                return model
            return keras.models.load_model(str(path), compile=False,
                                           safe_mode=not trust_model_code)
    except Exception as exc:  # noqa: BLE001
        hint = ("a weights-only file needs its architecture: architecture=model.json"
                if not architecture else "check that the architecture matches the weights")
        raise ValueError(f"own_model: cannot load {path}: {type(exc).__name__}: "
                         f"{str(exc)[:200]} ({hint})") from exc


def cut_model(model: keras.Model, cut: str | int = -1) -> keras.Model:
    """The sub-model from the input to the layer just before ``cut`` (name or index)."""
    layers = model.layers
    index = [la.name for la in layers].index(cut) if isinstance(cut, str) and not \
        cut.lstrip("-").isdigit() else int(cut) % len(layers)
    if index < 1:
        raise ValueError(f"own_model: cannot cut at layer {cut!r}: nothing left before it")
    return keras.Model(model.inputs, layers[index - 1].output, name="own_features")


@register_backbone("own_model", domain="vision",
                   contract=ImageContract(size=28, channels=1, scaling="unit"),
                   licence="the user's")
def own_model(weights=None, contract=None, architecture: str = "", cut="-1",
              trust_model_code: bool = False):
    """A user's saved model cut before its output layer (pass the model with weights=PATH).

    ``trust_model_code`` (``--trust-model-code``) lets a Lambda or custom layer in the file
    run its code; off, such a file is refused.
    """
    if weights is None:
        raise WeightsUnavailableError("own_model", ["no model given"],
                                      "Pass your saved model file with --weights PATH.")
    model = load_user_model(weights, architecture, trust_model_code is True)
    features = cut_model(model, cut)
    inputs = image_input(contract)
    x = ImageScaling(contract.scaling, name="scaling")(inputs)
    x = _fit_input(x, tuple(features.input_shape[1:]), contract)
    return keras.Model(inputs, features(x), name="own_model")


def _fit_input(x, want: tuple, contract):
    """Shape the contract's images as the model takes them: [784], [28, 28] or [h, w, c]."""
    size, channels = contract.size, contract.channels
    if len(want) == 1:
        have = size * size * channels
        if want[0] not in (None, have):
            raise ValueError(f"own_model takes {want[0]} values; images of {size}²×{channels} "
                             f"give {have}: pass {_guess_square(want[0])}")
        return keras.layers.Reshape((have,), name="flatten_pixels")(x)
    if len(want) == 2:  # grayscale without a channel axis: Flatten(input_shape=(28, 28))
        if channels != 1 or not _fits(want, (size, size)):
            raise ValueError(f"own_model takes {want} grayscale images: pass --option "
                             f"size={want[0] or size} --option channels=1")
        return keras.layers.Reshape((size, size), name="drop_channel")(x)
    if not _fits(want, (size, size, channels)):
        raise ValueError(f"own_model takes input {want}: pass --option "
                         f"size={want[0] or size} --option channels={want[-1] or channels}")
    return x


def _guess_square(n: int) -> str:
    for channels in (1, 3):
        side = math.isqrt(n // channels)
        if side * side * channels == n:
            return f"--option size={side} --option channels={channels}"
    return "--option size=N --option channels=C with N*N*C values"


def _fits(want: tuple, have: tuple) -> bool:
    return len(want) == len(have) and all(w is None or w == h for w, h in zip(want, have))

