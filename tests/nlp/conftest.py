"""Shared text fixtures: a tiny random BERT on disk and a learnable synthetic corpus."""
import random

import pytest

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
POSITIVE = ["good", "great", "love", "happy", "excellent", "nice", "fun", "best"]
NEGATIVE = ["bad", "awful", "hate", "sad", "terrible", "boring", "worst", "poor"]
NEUTRAL = ["the", "a", "movie", "film", "was", "is", "it", "this", "very", "really", "plot",
           "actor", "scene", "story", "and", "of", "to", "i", "we", "they"]


def tiny_vocab() -> list[str]:
    words = SPECIAL + POSITIVE + NEGATIVE + NEUTRAL + ["##s", "##ing", "##ed"]
    return words + [f"w{i}" for i in range(99 - len(words))]


def sentiment_texts(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Short sentences whose label is given by the one sentiment word they hold."""
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        label = "pos" if i % 2 == 0 else "neg"
        words = rng.sample(NEUTRAL, rng.randint(3, 8))
        words.insert(rng.randint(0, len(words)), rng.choice(POSITIVE if label == "pos"
                                                            else NEGATIVE))
        texts.append(" ".join(words).capitalize() + ".")
        labels.append(label)
    return texts, labels


def write_text_csv(path, texts, labels):
    """``path`` as a ``text,label`` CSV of the given rows; returns ``path``."""
    import csv

    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([("text", "label"), *zip(texts, labels)])
    return path


def write_tiny_bert(folder, seed: int = 0):
    """A randomly initialised 2-layer, 32-d BERT with its own vocab.txt, saved by HF."""
    from transformers import BertConfig, BertTokenizer, TFBertModel

    from transferkit.common.seed import set_global_seed

    # Not just tf.random.set_seed: unseeded tf_keras initialisers draw their seeds from
    # Python's random, so without this each test process wrote a different "tiny BERT".
    set_global_seed(seed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(tiny_vocab()) + "\n")
    config = BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=37,
                        max_position_embeddings=64, type_vocab_size=2)
    model = TFBertModel(config)
    model(model.dummy_inputs)
    model.save_pretrained(str(folder))
    BertTokenizer(str(folder / "vocab.txt")).save_pretrained(str(folder))
    return model


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny_bert")
    write_tiny_bert(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_contract(tiny_bert_dir):
    from transferkit.common.model.contracts import TextContract

    return TextContract(tokenizer=str(tiny_bert_dir), max_length=32)


@pytest.fixture(scope="session")
def text_domain():
    from transferkit.common.data.domain import get_domain

    return get_domain("text")
