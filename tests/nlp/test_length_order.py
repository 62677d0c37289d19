"""Length-ordered frozen text extraction: sort by token length, pad per batch, restore order."""
import numpy as np
import pytest

from transferkit.common.data.domain import PipelineOptions
from transferkit.common.train.features import extract_features
from transferkit.common.model.registry import create_backbone
from transferkit.nlp.pipeline import length_order, token_lengths

from tests.nlp.conftest import sentiment_texts


def _mixed_texts(n: int = 48) -> list[str]:
    """Texts of very different lengths, interleaved: 1 word up to past max_length."""
    texts, _ = sentiment_texts(n, seed=3)
    out = []
    for i, t in enumerate(texts):
        reps = [1, 6, 0, 3][i % 4]
        out.append("good" if reps == 0 else " ".join([t] * reps))
    return out


@pytest.fixture(scope="module")
def backbone(tiny_bert_dir):
    return create_backbone("hf_encoder", weights=str(tiny_bert_dir),
                           tokenizer=str(tiny_bert_dir), max_length=32)


def test_length_order_sorts_by_token_length(tiny_contract):
    texts = _mixed_texts()
    lengths = token_lengths(texts, tiny_contract)
    packer_lengths = [int(np.sum(
        _packed(t, tiny_contract)["input_mask"])) for t in texts]
    assert lengths.tolist() == packer_lengths  # what the pipeline packs, capped
    assert lengths.max() == tiny_contract.max_length and lengths.min() == 3
    order = length_order(texts, tiny_contract)
    assert order.dtype.kind == "i" and sorted(order.tolist()) == list(range(len(texts)))
    assert np.all(np.diff(lengths[order]) >= 0)
    for a, b in zip(order[:-1], order[1:]):  # stable: ties keep input order
        if lengths[a] == lengths[b]:
            assert a < b
    assert length_order([], tiny_contract).tolist() == []


def _packed(text, contract):
    from transferkit.common.keras import tf
    from transferkit.nlp.tokenizer import load_packer

    return load_packer(contract)(tf.constant([text]))


def test_ordered_extraction_matches_input_order(backbone, tiny_contract, text_domain):
    texts = _mixed_texts()
    opts = PipelineOptions(batch_size=8)
    plain = extract_features(backbone.model, text_domain.make_dataset(texts, None, tiny_contract,
                                                                opts), len(texts))
    order = text_domain.extraction_order(texts, tiny_contract)
    assert not np.array_equal(order, np.arange(len(texts)))
    ds = text_domain.make_dataset([texts[i] for i in order], None, tiny_contract, opts)
    ordered = extract_features(backbone.model, ds, len(texts), order=order)
    np.testing.assert_allclose(ordered, plain, atol=1e-4)


def test_ordered_batches_pad_far_less(tiny_contract, text_domain):
    texts = _mixed_texts()
    opts = PipelineOptions(batch_size=8)

    def padded_width(items):
        return sum(int(b["input_word_ids"].shape[1])
                   for b in text_domain.make_dataset(items, None, tiny_contract, opts))

    order = length_order(texts, tiny_contract)
    unordered, ordered = padded_width(texts), padded_width([texts[i] for i in order])
    assert unordered == 6 * tiny_contract.max_length  # every batch holds a long text
    assert ordered < 0.6 * unordered
