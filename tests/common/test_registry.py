"""Registry: registration, duplicates, unknown names, overrides."""
import pytest

from transferkit.common.model.contracts import ImageContract
from transferkit.common.model.registry import (RegistryError, create_backbone, get_backbone_spec,
                                         list_backbones, register_backbone, unregister_backbone)


@pytest.fixture
def tiny():
    from transferkit.common.keras import keras

    @register_backbone("test_registry_tiny", domain="vision",
                       contract=ImageContract(size=8, scaling="unit"))
    def build(weights=None, contract=None, width=4):
        build.seen_weights = weights
        inputs = keras.Input((contract.size, contract.size, 3))
        x = keras.layers.Conv2D(width, 3)(inputs)
        return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))

    yield build
    unregister_backbone("test_registry_tiny")


def test_register_list_create(tiny):
    assert "test_registry_tiny" in list_backbones("vision")
    assert "test_registry_tiny" not in list_backbones("text")
    backbone = create_backbone("test_registry_tiny", weights=None, size=16, width=6)
    model = backbone.model
    assert model.input_shape == (None, 16, 16, 3) and model.output_shape == (None, 6)
    assert backbone.contract == ImageContract(size=16, scaling="unit")
    assert backbone.output_shape == (6,) and backbone.spec.name == "test_registry_tiny"
    assert [b.name for b in backbone.blocks] == [la.name for la in model.layers if la.weights]
    assert get_backbone_spec("test_registry_tiny").contract.size == 8  # spec untouched


@pytest.mark.parametrize("given", [None, "none", "None", "default"])
def test_random_init_spellings_reach_the_builder_as_none(tiny, given):
    # "none" (config files, the CLI) means random init; "default" with no registered
    # source does too. Callers pass the config value as it is.
    create_backbone("test_registry_tiny", weights=given)
    assert tiny.seen_weights is None


def test_duplicate_name_is_an_error(tiny):
    with pytest.raises(RegistryError, match="already registered"):
        register_backbone("test_registry_tiny", domain="vision", contract=ImageContract())(tiny)


def test_unknown_name_suggests(tiny):
    with pytest.raises(RegistryError, match="unknown backbone 'mobilenet_v9'.*mobilenet"):
        get_backbone_spec("mobilenet_v9")


def test_glob_pattern():
    assert list_backbones(pattern="mobilenet*") == ["mobilenet_v1", "mobilenet_v2"]


def test_a_plugin_whose_register_raises_is_reported_not_fatal(monkeypatch, capsys):
    from importlib import metadata

    from transferkit.common import plugins

    broken = metadata.EntryPoint(name="broken", value="json:dumps",  # dumps() raises TypeError
                                 group=plugins.PLUGIN_GROUP)
    missing = metadata.EntryPoint(name="missing", value="no_such_module_xyz",
                                  group=plugins.PLUGIN_GROUP)
    monkeypatch.setattr(plugins.metadata, "entry_points",
                        lambda group: [broken, missing] if group == plugins.PLUGIN_GROUP else [])
    monkeypatch.setattr(plugins, "_failed", {})
    assert plugins.load_plugins(force=True) == []
    err = capsys.readouterr().err
    assert "plugin 'broken' (json:dumps) failed to load: TypeError" in err
    assert "plugin 'missing'" in err
