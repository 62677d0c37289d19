"""A third-party backbone package, installed with pip, found through the entry-point group."""
import importlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from transferkit.common import plugins
from transferkit.common.model import registry

PLUGIN = "tkplugin_tiny"
BACKBONE = "tiny_plugin_cnn"

PLUGIN_SOURCE = '''
"""A tiny plugin: registers one vision backbone when its entry point is called."""
from transferkit.common.model.contracts import ImageContract
from transferkit.common.keras import keras
from transferkit.common.model.registry import register_backbone


def register():
    @register_backbone("tiny_plugin_cnn", domain="vision",
                       contract=ImageContract(size=24, scaling="unit"),
                       description="a plugin's 8-filter CNN", licence="MIT")
    def tiny_plugin_cnn(weights=None, contract=None, filters=8):
        inputs = keras.Input((contract.size, contract.size, contract.channels), name="image")
        x = keras.layers.Rescaling(1 / 255.0)(inputs)
        x = keras.layers.Conv2D(filters, 3, strides=2, activation="relu", name="conv")(x)
        outputs = keras.layers.GlobalAveragePooling2D(name="pool")(x)
        return keras.Model(inputs, outputs, name="tiny_plugin_cnn")
'''


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory):
    """``pip install --target`` the plugin (offline), put it on sys.path; undo it after."""
    root = tmp_path_factory.mktemp("plugin")
    pkg = root / "pkg"
    (pkg / PLUGIN).mkdir(parents=True)
    (pkg / PLUGIN / "__init__.py").write_text(PLUGIN_SOURCE)
    (pkg / "pyproject.toml").write_text(textwrap.dedent(f"""\
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{PLUGIN.replace('_', '-')}"
        version = "0.0.1"

        [project.entry-points."{plugins.ENTRY_POINT_GROUP}"]
        tiny = "{PLUGIN}:register"

        [tool.setuptools]
        packages = ["{PLUGIN}"]
        """))
    site = root / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-index", "--no-build-isolation", "--disable-pip-version-check",
                    "--target", str(site), str(pkg)], check=True, cwd=root)
    assert list(site.glob("tkplugin_tiny-0.0.1.dist-info/entry_points.txt"))
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    yield site
    sys.path.remove(str(site))
    sys.modules.pop(PLUGIN, None)
    importlib.invalidate_caches()
    registry.unregister_backbone(BACKBONE)


def test_entry_point_plugin_registers_a_backbone(installed_plugin):
    assert BACKBONE not in registry._REGISTRY
    loaded = plugins.load_plugins(force=True)
    assert "tiny" in loaded
    assert BACKBONE in registry.list_backbones("vision")
    spec = registry.get_backbone_spec(BACKBONE)
    assert spec.origin.startswith(f"{PLUGIN}.") and spec.licence == "MIT"
    backbone = registry.create_backbone(BACKBONE, weights=None, filters=4)
    x = np.random.default_rng(0).uniform(0, 255, (2, 24, 24, 3)).astype("float32")
    assert backbone.model(x).shape == (2, 4)
    assert backbone.contract.size == 24


def test_plugin_backbone_passes_the_standard_checks(installed_plugin):
    from transferkit.common.testing import check_backbone

    if BACKBONE not in registry._REGISTRY:  # run alone: the first test didn't load it
        plugins.load_plugins(force=True)
    x = np.random.default_rng(1).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    result = check_backbone(lambda: registry.create_backbone(BACKBONE, weights=None, size=32), x)
    assert result["feature_shape"] == (8,)


def test_cli_lists_the_plugin_backbone(installed_plugin, capsys):
    from transferkit.common.cli.parser import main

    if BACKBONE not in registry._REGISTRY:
        plugins.load_plugins(force=True)
    assert main(["backbones", "--domain", "vision"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith(BACKBONE))
    assert "a plugin's 8-filter CNN" in line
