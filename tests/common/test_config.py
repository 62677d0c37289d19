"""Run configuration: frozen dataclasses, JSON round trip, errors that name the field."""
import dataclasses
import json

import pytest

from transferkit.common.config import (BackboneConfig, DataConfig, HeadConfig, RunConfig,
                                       TrainConfig, from_dict, load_config, save_config,
                                       to_dict)


def _custom() -> RunConfig:
    return RunConfig(
        domain="vision",
        backbone=BackboneConfig("mobilenet_v2", None, {"size": 96, "alpha": 0.35}),
        head=HeadConfig(units=(128, 32), activation="gelu", dropout=0.3, task="multilabel"),
        train=TrainConfig(epochs=7, fine_tune_epochs=2, unfreeze_from="block_16_expand",
                          embedding_cache="disk", augment=True, seed=3),
        data=DataConfig(train="flowers/", test="flowers_test/", label_separator="|"),
        recipe="flowers")


def test_save_load_round_trip(tmp_path):
    config = _custom()
    save_config(config, tmp_path / "config.json")
    loaded = load_config(tmp_path / "config.json")
    assert loaded == config
    assert loaded.head.units == (128, 32)  # JSON lists come back as tuples
    raw = json.loads((tmp_path / "config.json").read_text())
    assert raw["backbone"] == {"name": "mobilenet_v2", "weights": None,
                               "options": {"size": 96, "alpha": 0.35}}
    assert from_dict(to_dict(RunConfig())) == RunConfig()


def test_missing_fields_take_their_defaults(tmp_path):
    """A config.json from an older version, without newer fields, still loads."""
    (tmp_path / "config.json").write_text(json.dumps(
        {"domain": "text", "train": {"epochs": 2}, "head": {"task": "regression"}}))
    loaded = load_config(tmp_path / "config.json")
    assert loaded.train == TrainConfig(epochs=2)
    assert loaded.head == HeadConfig(task="regression") and loaded.backbone == BackboneConfig()


@pytest.mark.parametrize("raw, message", [
    ({"train": {"epochs": 3, "epochz": 5}}, r"config\.train: unknown field\(s\) \['epochz'\]"),
    ({"head": {"units": [8], "pooling": "flatten", "colour": 1}},
     r"config\.head: unknown field\(s\) \['colour', 'pooling'\]"),
    ({"domain": "vision", "bogus": 1}, r"config: unknown field 'bogus'"),
])
def test_unknown_fields_are_named(tmp_path, raw, message):
    (tmp_path / "config.json").write_text(json.dumps(raw))
    with pytest.raises(ValueError, match=message):
        load_config(tmp_path / "config.json")


@pytest.mark.parametrize("section", ["train", "head", "backbone", "data"])
@pytest.mark.parametrize("value", [None, "mobilenet_v2", [1, 2]])
def test_a_section_that_is_not_an_object_is_named(section, value):
    with pytest.raises(ValueError, match=rf"config\.{section}: expected an object of fields, "
                                         rf"got {type(value).__name__}"):
        from_dict({section: value})


def test_a_config_that_is_not_an_object_is_an_error(tmp_path):
    (tmp_path / "config.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="config: expected an object of fields, got list"):
        load_config(tmp_path / "config.json")


def test_unreadable_config_names_the_path(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="config.json: cannot read run config"):
        load_config(tmp_path / "config.json")
    with pytest.raises(ValueError, match="missing.json: cannot read run config"):
        load_config(tmp_path / "missing.json")


@pytest.mark.parametrize("kwargs, message", [
    ({"task": "ranking"}, r"head\.task must be one of .*'multiclass'.*got 'ranking'"),
    ({"dropout": 1.0}, r"head\.dropout must be in \[0, 1\), got 1\.0"),
    ({"dropout": -0.1}, r"head\.dropout must be in \[0, 1\), got -0\.1"),
])
def test_head_config_rejects_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        HeadConfig(**kwargs)
    with pytest.raises(ValueError, match=message):  # through replace too
        dataclasses.replace(HeadConfig(), **kwargs)
    with pytest.raises(ValueError, match=message):  # and from a config file
        from_dict({"head": kwargs})


@pytest.mark.parametrize("mode", ["disc", "Memory", ""])
def test_train_config_rejects_an_unknown_cache_mode(mode):
    with pytest.raises(ValueError, match=rf"train\.embedding_cache must be one of .*'disk'.*"
                                         rf"got '{mode}'"):
        TrainConfig(embedding_cache=mode)
    for ok in ("auto", "memory", "disk", "off"):
        assert TrainConfig(embedding_cache=ok).embedding_cache == ok


def test_configs_are_frozen_and_independent():
    config = RunConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.train.epochs = 9
    assert BackboneConfig().options is not BackboneConfig().options
    longer = dataclasses.replace(config, train=dataclasses.replace(config.train, epochs=9))
    assert longer.train.epochs == 9 and config.train.epochs == TrainConfig().epochs
    assert HeadConfig(units=["16", 8.0]).units == (16, 8)


def test_cli_flags_override_a_config_file(tmp_path):
    """``--config`` (JSON or YAML) is the base; flags given on the command line win."""
    from transferkit.common.cli.parser import build_parser
    from transferkit.common.cli.commands import config_from_args

    (tmp_path / "base.yaml").write_text(
        "domain: vision\nbackbone: {name: vgg16, options: {size: 64}}\n"
        "train: {epochs: 4, batch_size: 8}\nhead: {units: [64], dropout: 0.1}\n")
    args = build_parser().parse_args([
        "train", "--config", str(tmp_path / "base.yaml"), "--out", str(tmp_path / "run"),
        "--data", "pics/", "--epochs", "6", "--units", "32,16", "--option", "pooling=flatten",
        "--weights", "none", "--augment", "true"])
    config = config_from_args(args)
    assert config.backbone == BackboneConfig("vgg16", None, {"size": 64, "pooling": "flatten"})
    assert (config.train.epochs, config.train.batch_size, config.train.augment) == (6, 8, True)
    assert config.head.units == (32, 16) and config.head.dropout == 0.1
    assert config.data.train == "pics/" and config.domain == "vision"
