"""LoRA on the tiny BERT: only the adapters train, a merge changes no output, and a
``fine_tune_method="lora"`` run exports the ordinary architecture computing what the adapter
model computes."""
import json

import numpy as np
import pytest

from transferkit.common.config import (BackboneConfig, DataConfig, HeadConfig, RunConfig,
                                       TrainConfig)
from tests.nlp.conftest import sentiment_texts, write_text_csv


def _backbone(tiny_bert_dir):
    from transferkit.common.model.registry import create_backbone

    return create_backbone("hf_encoder", weights=str(tiny_bert_dir),
                           tokenizer=str(tiny_bert_dir), max_length=32)


def _adapt(backbone, text_domain, names=("query", "value"), rank=4, alpha=8.0):
    from transferkit.common.model import lora

    targets = text_domain.lora_targets(backbone, names)
    adapters = [lora.attach(p, a, rank, alpha, seed=i) for i, (p, a) in enumerate(targets)]
    lora.train_only(backbone.model, adapters)
    return targets, adapters


@pytest.fixture(scope="module")
def batch(text_domain, tiny_contract):
    from transferkit.common.data.domain import PipelineOptions

    texts, _ = sentiment_texts(16, seed=3)
    return next(iter(text_domain.make_dataset(texts, None, tiny_contract, PipelineOptions())))


def test_only_the_adapters_train_and_they_start_as_the_identity(tiny_bert_dir, text_domain,
                                                                 batch):
    from transferkit.common.keras import keras
    from transferkit.common.model.freezing import count_trainable

    backbone = _backbone(tiny_bert_dir)
    before = backbone.model.predict(batch, verbose=0)
    frozen = [w.numpy() for w in backbone.model.weights]
    targets, adapters = _adapt(backbone, text_domain)
    assert [a for _, a in targets] == ["query", "value"] * 2  # two blocks
    lora_vars = {id(v) for a in adapters for v in (a.lora_a, a.lora_b)}
    assert {id(w) for w in backbone.model.trainable_weights} == lora_vars
    assert count_trainable(backbone) == 4 * (32 * 4 + 4 * 32)
    np.testing.assert_array_equal(backbone.model.predict(batch, verbose=0), before)  # B = 0

    model = keras.Model(backbone.model.inputs, keras.layers.Dense(1)(backbone.model.outputs[0]))
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    model.fit(batch, np.ones((16, 1)), epochs=1, verbose=0)
    base = [w for w in backbone.model.weights if id(w) not in lora_vars]
    assert all(np.array_equal(w.numpy(), f) for w, f in zip(base, frozen))
    assert all(np.abs(a.lora_b.numpy()).max() > 0 for a in adapters)


def test_merging_changes_no_output_and_restores_the_plain_layers(tiny_bert_dir, text_domain,
                                                                 batch, tmp_path):
    from transferkit.common.keras import keras, tf
    from transferkit.common.model import lora
    from transferkit.common.model.freezing import all_trainable

    backbone = _backbone(tiny_bert_dir)
    targets, adapters = _adapt(backbone, text_domain, ("query", "key", "value"), rank=2)
    for a in adapters:
        a.lora_b.assign(tf.random.stateless_normal(a.lora_b.shape, seed=(1, 2)))
    adapted = backbone.model.predict(batch, verbose=0)
    assert np.abs(adapted - _backbone(tiny_bert_dir).model.predict(batch, verbose=0)).max() > 1e-3
    for parent, attr in targets:
        lora.merge(parent, attr)
    assert all(type(getattr(p, a)) is keras.layers.Dense for p, a in targets)
    np.testing.assert_allclose(backbone.model.predict(batch, verbose=0), adapted, atol=1e-5)

    # The merged weights go into a freshly built model by order (the .h5 a run reloads).
    fresh = _backbone(tiny_bert_dir)
    with all_trainable(backbone.model):
        assert [w.name.split("/", 1)[1] for w in backbone.model.weights] == \
            [w.name.split("/", 1)[1] for w in fresh.model.weights]
        backbone.model.save_weights(str(tmp_path / "merged.h5"), save_format="h5")
    fresh.model.load_weights(str(tmp_path / "merged.h5"))
    np.testing.assert_allclose(fresh.model.predict(batch, verbose=0), adapted, atol=1e-5)


def lora_config(root, tiny_bert_dir, fine_tune_epochs=2):
    options = {"tokenizer": str(tiny_bert_dir), "max_length": 16}
    return RunConfig(
        domain="text", backbone=BackboneConfig("hf_encoder", str(tiny_bert_dir), options),
        head=HeadConfig(dropout=0.0),
        train=TrainConfig(epochs=5, fine_tune_epochs=fine_tune_epochs, batch_size=32,
                          fine_tune_method="lora", lora_rank=4, lora_alpha=8.0,
                          fine_tune_learning_rate=1e-3, early_stopping_patience=0),
        data=DataConfig(train=str(root / "train.csv"), validation_split=0.2, test_split=0.2))


class Interrupted(Exception):
    pass


@pytest.fixture(scope="module")
def lora_run(tmp_path_factory, tiny_bert_dir):
    """A LoRA run stopped after phase-2 epoch 1 of 2, then resumed to the end.

    Returns ``(result, record)``: ``record`` holds the weights at the stop and at the
    resumed ``fit``'s start, and the epochs each ``fit`` ran.
    """
    from transferkit.common.train import callbacks as cb
    from transferkit.common.train.trainer import train_run

    record = {"epochs": [], "stop": True}

    class Recording(cb.ResumeState):
        def on_train_begin(self, logs=None):
            record["start"] = [w.copy() for w in self.model.get_weights()]

        def on_epoch_end(self, epoch, logs=None):
            super().on_epoch_end(epoch, logs)
            record["epochs"].append((self.phase, epoch))
            if self.phase == "phase2" and record.pop("stop", False):
                record["stopped"] = [w.copy() for w in self.model.get_weights()]
                raise Interrupted()

    root = tmp_path_factory.mktemp("lora_run")
    write_text_csv(root / "train.csv", *sentiment_texts(160))
    config = lora_config(root, tiny_bert_dir)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cb, "ResumeState", Recording)
        with pytest.raises(Interrupted):
            train_run(config, root / "run", verbose=0)
        record["epochs"].clear()
        result = train_run(config, root / "run", verbose=0, resume=True)
    return result, record


def test_an_interrupted_lora_phase_resumes_from_its_adapters(lora_run):
    from tests.common.test_resume import _same

    result, record = lora_run
    assert record["epochs"] == [("phase2", 1)]  # phase 1 not redone
    assert _same(record["start"], record["stopped"])  # the adapters it stopped with
    assert result.metrics["test"]["accuracy"] > 0.6


def test_a_finished_lora_phase_resumes_as_its_merged_weights(lora_run, text_domain):
    from transferkit.common.data.domain import PipelineOptions
    from transferkit.common.model.freezing import freeze
    from transferkit.common.model.heads import build_head, join
    from transferkit.common.output.rundir import load
    from transferkit.common.train.lora_phase import fine_tune_lora
    from transferkit.common.train.trainer import prepare

    run = load(lora_run[0].run_dir)
    ctx = prepare(run.config, run.run_dir, resume=True, verbose=0)
    model = join(ctx.backbone.model, build_head(ctx.backbone.output_shape, run.config.head,
                                                ctx.codec.num_outputs))
    freeze(ctx.backbone)
    fine_tune_lora(ctx, model)  # phase 2 is done: it loads, it trains nothing
    ds = text_domain.make_dataset(["great fun", "awful plot"], None, run.contract,
                                  PipelineOptions())
    np.testing.assert_allclose(model.predict(ds, verbose=0),
                               run.keras_model().predict(ds, verbose=0), atol=1e-6)


def test_a_lora_run_records_its_adapters(lora_run):
    run_dir = lora_run[0].run_dir
    report = json.loads((run_dir / "lora.json").read_text())
    assert report["adapter_params"] == 4 * (32 * 4 + 4 * 32)
    assert report["fraction"] == pytest.approx(1024 / report["backbone_params"])
    assert report["fraction"] < 0.1 and report["merged_delta_norm"] > 0
    with np.load(run_dir / "lora_adapters.npz") as saved:
        assert len(saved.files) == 8
        assert "bert/encoder/layer_._0/attention/self/query/lora_a" in saved.files


def test_the_merged_export_computes_what_the_adapter_model_computes(lora_run, tiny_bert_dir,
                                                                    text_domain):
    from transferkit.common.data.domain import PipelineOptions
    from transferkit.common.keras import tf
    from transferkit.common.model.heads import join
    from transferkit.common.output.calibration import apply_temperature
    from transferkit.common.output.export_run import export_run
    from transferkit.common.output.rundir import load
    from transferkit.common.train.lora_phase import ADAPTERS, attach_saved

    run = load(lora_run[0].run_dir)
    merged = run.keras_model()
    assert not any("lora" in w.name for w in merged.weights)  # the ordinary architecture
    backbone = _backbone(tiny_bert_dir)  # the base phase 2 started from, plus the adapters
    attach_saved(text_domain, backbone, run.config.train, run.run_dir / ADAPTERS)
    adapter_model = join(backbone.model, merged.layers[-1])  # the run's head
    texts = ["The movie was great and fun", "I hate this boring plot", "worst film", "a"]
    ds = text_domain.make_dataset(texts, None, run.contract, PipelineOptions())
    want = adapter_model.predict(ds, verbose=0)
    assert np.abs(want - _plain(tiny_bert_dir, merged.layers[-1], ds)).max() > 1e-4
    np.testing.assert_allclose(merged.predict(ds, verbose=0), want, atol=1e-5)

    if run.temperature:  # what every export computes: calibrated probabilities
        want = apply_temperature(want, run.temperature)
    result = export_run(run.run_dir, "savedmodel")
    assert result.parity.passed, result.parity.line()
    fn = tf.saved_model.load(str(result.out_dir / "saved_model")).signatures["serving_default"]
    got = fn(text=tf.constant(texts))["output_0"].numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)


def _plain(tiny_bert_dir, head, ds):
    """The run's head on the un-adapted base: what phase 2 changed must show."""
    from transferkit.common.model.heads import join

    return join(_backbone(tiny_bert_dir).model, head).predict(ds, verbose=0)


def test_lora_config_fields_are_checked():
    with pytest.raises(ValueError, match="train.lora_targets"):
        TrainConfig(lora_targets="query,output")
    with pytest.raises(ValueError, match="train.lora_rank"):
        TrainConfig(lora_rank=0)
    with pytest.raises(ValueError, match="train.lora_alpha"):
        TrainConfig(lora_alpha=float("nan"))


def test_a_backbone_without_an_hf_encoder_is_refused_by_name(text_domain):
    from transferkit.common.keras import keras
    from transferkit.common.model.contracts import TextContract
    from transferkit.common.model.registry import as_backbone

    inputs = keras.Input(shape=(4,))
    plain = as_backbone(keras.Model(inputs, keras.layers.Dense(2)(inputs), name="plain"),
                        TextContract())
    with pytest.raises(ValueError, match="'plain' has no HF encoder layer"):
        text_domain.lora_targets(plain, ("query",))


def test_distilbert_projections_are_found_and_merge_exactly(text_domain):
    from transformers import DistilBertConfig, TFDistilBertModel

    from transferkit.common.keras import tf
    from transferkit.common.model import lora
    from transferkit.nlp.hf.encoder import wrap_encoder

    hf = TFDistilBertModel(DistilBertConfig(vocab_size=99, dim=32, n_layers=2, n_heads=2,
                                            hidden_dim=37, max_position_embeddings=64))
    hf(hf.dummy_inputs)
    backbone = wrap_encoder(hf, "mean", "tiny_distilbert")
    targets = text_domain.lora_targets(backbone, ("query", "key", "value"))
    assert [a for _, a in targets] == ["q_lin", "k_lin", "v_lin"] * 2
    adapters = [lora.attach(p, a, 2, 4.0, seed=i) for i, (p, a) in enumerate(targets)]
    for a in adapters:
        a.lora_b.assign(tf.random.stateless_normal(a.lora_b.shape, seed=(3, 4)))
    x = {"input_word_ids": tf.constant([[2, 10, 11, 3]]), "input_mask": tf.ones((1, 4), tf.int32),
         "input_type_ids": tf.zeros((1, 4), tf.int32)}
    adapted = backbone.model(x).numpy()
    for parent, attr in targets:
        lora.merge(parent, attr)
    np.testing.assert_allclose(backbone.model(x).numpy(), adapted, atol=1e-5)
