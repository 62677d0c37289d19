"""HF TF encoders: round trips, safetensors without torch, pooling, freezing, h5 weights."""
import numpy as np
import pytest

from transferkit.common.data.domain import PipelineOptions
from transferkit.common.model.registry import create_backbone
from transferkit.common.model.weights import WeightsUnavailableError

TEXTS = ["the movie was good", "i hate this plot", "fun"]


def _features(backbone, contract, domain, texts=TEXTS):
    ds = domain.make_dataset(texts, None, contract, PipelineOptions(batch_size=2))
    return backbone.model.predict(ds, verbose=0)


def test_save_pretrained_round_trip(tmp_path, tiny_contract, text_domain):
    from tests.nlp.conftest import write_tiny_bert

    original = write_tiny_bert(tmp_path / "m", seed=3)
    backbone = create_backbone("hf_encoder", weights=str(tmp_path / "m"),
                               tokenizer=tiny_contract.tokenizer, max_length=32, pooling="cls")
    ds = text_domain.make_dataset(TEXTS, None, tiny_contract, PipelineOptions(batch_size=3))
    inputs = next(iter(ds))
    hf_out = original(input_ids=inputs["input_word_ids"], attention_mask=inputs["input_mask"],
                      token_type_ids=inputs["input_type_ids"]).last_hidden_state[:, 0].numpy()
    np.testing.assert_allclose(backbone.model.predict(ds, verbose=0), hf_out, atol=1e-5)


def _pt_state_dict(tf_model) -> dict:
    """The TF model's weights under PyTorch ``BertModel`` names and layouts."""
    from transformers.modeling_tf_pytorch_utils import (TransposeType,
                                                        convert_tf_weight_name_to_pt_weight_name)

    state = {}
    for w in tf_model.weights:
        name, transpose = convert_tf_weight_name_to_pt_weight_name(
            w.name, start_prefix_to_remove="bert.", tf_weight_shape=w.shape)
        value = w.numpy()
        state[name] = value.T.copy() if transpose is TransposeType.SIMPLE else value
    state["embeddings.position_ids"] = np.arange(64)[None]  # a buffer the TF side ignores
    return state


def test_safetensors_only_checkpoint_without_torch(tmp_path, monkeypatch, tiny_bert_dir,
                                                   tiny_contract, text_domain):
    import shutil

    from safetensors.numpy import save_file

    from tests.nlp.conftest import write_tiny_bert

    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    source = write_tiny_bert(tmp_path / "tf", seed=5)
    folder = tmp_path / "st"
    folder.mkdir()
    shutil.copy(tmp_path / "tf" / "config.json", folder)
    shutil.copy(tiny_bert_dir / "vocab.txt", folder)
    save_file(_pt_state_dict(source), str(folder / "model.safetensors"))
    backbone = create_backbone("hf_encoder", weights=str(folder), tokenizer=str(folder),
                               max_length=32)
    converted = list((tmp_path / "cache" / "hf-converted").iterdir())
    assert len(converted) == 1 and (converted[0] / "tf_model.h5").is_file()
    assert not (folder / "tf_model.h5").exists()  # the source folder is left alone
    expected = create_backbone("hf_encoder", weights=str(tmp_path / "tf"),
                               tokenizer=str(folder), max_length=32)
    np.testing.assert_allclose(_features(backbone, tiny_contract, text_domain),
                               _features(expected, tiny_contract, text_domain), atol=1e-5)


@pytest.mark.parametrize("pooling", ["mean", "cls", "pooler"])
def test_poolings_and_top_n_unfreezing(pooling, tiny_bert_dir, tiny_contract, text_domain):
    from transferkit.common.model.freezing import count_trainable, freeze, unfreeze
    from transferkit.nlp.hf.encoder import encoder_layers

    backbone = create_backbone("hf_encoder", weights=str(tiny_bert_dir),
                               tokenizer=str(tiny_bert_dir), pooling=pooling)
    assert _features(backbone, tiny_contract, text_domain).shape == (3, 32)
    freeze(backbone)
    assert count_trainable(backbone) == 0
    names = unfreeze(backbone, top=1)
    blocks = encoder_layers(backbone)
    assert len(blocks) == 2
    if pooling == "pooler":
        assert names == ["pooler"] and not blocks[-1].trainable
    else:
        assert names == [blocks[-1].name] and not blocks[0].trainable
        block_params = sum(int(np.prod(w.shape)) for w in blocks[-1].trainable_weights)
        assert count_trainable(backbone) == block_params  # embeddings, pooler stay frozen


def test_h5_weights_round_trip(tmp_path, tiny_bert_dir, tiny_contract, text_domain, tf_keras):
    backbone = create_backbone("hf_encoder", weights=str(tiny_bert_dir),
                               tokenizer=str(tiny_bert_dir))
    head = tf_keras.layers.Dense(2)
    model = tf_keras.Model(backbone.model.input, head(backbone.model.output))
    model.save_weights(str(tmp_path / "w.h5"))
    fresh = create_backbone("hf_encoder", weights=None, config=str(tiny_bert_dir),
                            tokenizer=str(tiny_bert_dir))
    fresh_model = tf_keras.Model(fresh.model.input, tf_keras.layers.Dense(2)(fresh.model.output))
    fresh_model.load_weights(str(tmp_path / "w.h5"))
    ds = text_domain.make_dataset(TEXTS, None, tiny_contract, PipelineOptions())
    np.testing.assert_allclose(fresh_model.predict(ds, verbose=0),
                               model.predict(ds, verbose=0), atol=1e-5)


@pytest.mark.parametrize("pooling", ["cls", "pooler"])
def test_keras_file_round_trip(pooling, tmp_path, tiny_bert_dir, tiny_contract, text_domain,
                               tf_keras):
    # The encoder layer serialises its HF config: a whole model saves to .keras and reloads
    # offline with the same outputs (architecture from the config, then the weights).
    backbone = create_backbone("hf_encoder", weights=str(tiny_bert_dir),
                               tokenizer=str(tiny_bert_dir), pooling=pooling)
    model = tf_keras.Model(backbone.model.input, tf_keras.layers.Dense(2)(backbone.model.output))
    model.save(str(tmp_path / "m.keras"))
    again = tf_keras.models.load_model(str(tmp_path / "m.keras"))
    ds = text_domain.make_dataset(TEXTS, None, tiny_contract, PipelineOptions())
    np.testing.assert_allclose(again.predict(ds, verbose=0), model.predict(ds, verbose=0),
                               atol=1e-5)
    assert again.get_layer("hf_encoder").pooling == pooling


def test_missing_weights_name_sources(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(WeightsUnavailableError, match="transferkit weights fetch minilm_l6"):
        create_backbone("minilm_l6", weights="minilm_l6")
    with pytest.raises(WeightsUnavailableError, match="Hugging Face Hub"):
        create_backbone("bert_base_uncased", weights="hf")


def test_random_init_minilm_needs_no_files():
    backbone = create_backbone("minilm_l6", weights=None)
    assert backbone.output_shape == (384,)
    assert len(backbone.blocks) == 7  # embeddings + 6 transformer blocks
