"""Text to model input: the ``TextContract``'s tokenizer, resolved and run in-graph.

``contract.tokenizer`` names where the tokenizer lives:

* a directory holding ``vocab.txt`` (or the ``vocab.txt`` file itself) — WordPiece, run
  in-graph by ``tensorflow_text.BertTokenizer``: the same ops at training time and inside
  the exported SavedModel, so serving can't drift from training;
* ``"hub:<handle or path>"`` — a TF-Hub text preprocessing model;
* a named weight set (``"minilm_l6"``) — its cached folder;
* ``"hf:<hub name>"`` — downloaded (or found in the HF cache) into a directory first;
* a directory without ``vocab.txt`` (RoBERTa's BPE) — the Hugging Face tokenizer, run in
  Python (training only: it can't be exported in-graph).

Every tokenizer maps a batch of strings to the dict the encoders take: ``input_word_ids``,
``input_mask``, ``input_type_ids`` (int32 ``[batch, seq]``), padded to the batch's longest
text (at most ``max_length``), never to a global maximum.

Example:
    >>> pack = load_packer(TextContract(tokenizer="/models/minilm", max_length=64))  # doctest: +SKIP
    >>> pack(tf.constant(["hello world"]))["input_word_ids"]  # doctest: +SKIP
"""
from __future__ import annotations

from pathlib import Path

from transferkit.common.model.contracts import TextContract
from transferkit.common.keras import tf

INPUT_KEYS = ("input_word_ids", "input_mask", "input_type_ids")
HUB_PREFIX = "hub:"
HF_PREFIX = "hf:"


class TokenizerUnavailableError(ValueError):
    """The contract's tokenizer can't be found; the message says how to get it."""


def resolve_tokenizer(spec: str) -> str:
    """The tokenizer spec with named weight sets resolved to their cached folder."""
    if not spec:
        raise TokenizerUnavailableError(
            "the text contract names no tokenizer: pass tokenizer=DIR (a folder with "
            "vocab.txt, usually the model folder), tokenizer='hub:PREPROCESS_HANDLE' or "
            "tokenizer='hf:NAME'")
    if spec.startswith(HUB_PREFIX) or Path(spec).expanduser().exists():
        return spec
    if spec.startswith(HF_PREFIX):
        from transferkit.nlp.hf.weights import snapshot

        try:
            return str(snapshot(spec[len(HF_PREFIX):]))
        except Exception as exc:  # noqa: BLE001 - offline, unknown name, firewall
            raise TokenizerUnavailableError(
                f"tokenizer {spec!r}: cannot get it from the Hugging Face Hub "
                f"({type(exc).__name__}: {str(exc)[:160]}); pass tokenizer=DIR") from exc
    from transferkit.common.model.weights import named_path, named_weights

    known = named_weights()
    if spec in known:
        return str(named_path(spec, spec))
    raise TokenizerUnavailableError(
        f"tokenizer {spec!r} is neither an existing path, a named weight set "
        f"({', '.join(sorted(known)) or 'none'}), 'hub:...' nor 'hf:...'")


def vocab_file(spec: str) -> Path | None:
    """The WordPiece ``vocab.txt`` a resolved spec points at, or None."""
    if spec.startswith(HUB_PREFIX):
        return None
    path = Path(spec).expanduser()
    if path.is_file():
        return path
    return path / "vocab.txt" if (path / "vocab.txt").is_file() else None


def special_ids(vocab: Path) -> dict[str, int]:
    """Ids of ``[CLS]``, ``[SEP]``, ``[PAD]`` in a vocab file (one token per line)."""
    wanted = {"[CLS]", "[SEP]", "[PAD]"}
    found = {}
    with open(vocab, encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            token = line.rstrip("\n")
            if token in wanted:
                found[token] = i
    if found.keys() != wanted:
        raise ValueError(f"{vocab}: missing special tokens {sorted(wanted - found.keys())}")
    return found


class WordPiecePacker(tf.Module):
    """In-graph WordPiece: strings ``[batch]`` -> padded encoder inputs.

    The vocab file becomes a SavedModel asset through the tokenizer's lookup table, so an
    exported model tokenises offline.
    """

    def __init__(self, vocab: Path, max_length: int, lowercase: bool = True):
        super().__init__(name="wordpiece_packer")
        import tensorflow_text as text

        ids = special_ids(vocab)
        self.cls_id, self.sep_id, self.pad_id = ids["[CLS]"], ids["[SEP]"], ids["[PAD]"]
        self.max_length = int(max_length)
        self.tokenizer = text.BertTokenizer(str(vocab), lower_case=lowercase,
                                            token_out_type=tf.int64)

    def __call__(self, texts):
        pieces = self.tokenizer.tokenize(texts).merge_dims(-2, -1)
        pieces = tf.cast(pieces[:, : self.max_length - 2], tf.int32)
        batch = pieces.nrows()
        cls = tf.fill([batch, 1], self.cls_id)
        sep = tf.fill([batch, 1], self.sep_id)
        ids = tf.concat([cls, pieces, sep], axis=1)
        return pack_ragged(ids, self.pad_id)


def pack_ragged(ids, pad_id: int) -> dict:
    """Ragged ids ``[batch, (len)]`` -> dense inputs padded to the batch's longest row."""
    mask = tf.ones_like(ids)
    return {"input_word_ids": ids.to_tensor(default_value=pad_id),
            "input_mask": mask.to_tensor(default_value=0),
            "input_type_ids": tf.zeros_like(mask).to_tensor(default_value=0)}


class HubPacker(tf.Module):
    """A TF-Hub preprocessing model (strings -> the three input tensors).

    A ``tf.Module`` so that the exported serving model tracks the preprocessor's tables.
    """

    def __init__(self, handle: str):
        super().__init__(name="hub_packer")
        from transferkit.common.model.hub import hub_keras_layer

        self.layer = hub_keras_layer(handle, "hub_text preprocessing", name="hub_preprocess")

    def __call__(self, texts):
        out = self.layer(texts)
        return {k: tf.cast(out[k], tf.int32) for k in INPUT_KEYS}


_CACHE: dict = {}


def load_packer(contract: TextContract):
    """The in-graph packer for ``contract`` (cached per spec), or None for Python-only
    tokenizers (see :func:`python_tokenize`)."""
    spec = resolve_tokenizer(contract.tokenizer)
    key = (spec, contract.max_length, contract.lowercase)
    if key not in _CACHE:
        vocab = vocab_file(spec)
        if spec.startswith(HUB_PREFIX):
            _CACHE[key] = HubPacker(spec[len(HUB_PREFIX):])
        elif vocab is not None:
            _CACHE[key] = WordPiecePacker(vocab, contract.max_length, contract.lowercase)
        else:
            _CACHE[key] = None
    return _CACHE[key]


def tokenizes_in_graph(contract: TextContract) -> bool:
    """Whether the contract's tokenizer can run inside a SavedModel (WordPiece or TF-Hub)."""
    spec = resolve_tokenizer(contract.tokenizer)
    return spec.startswith(HUB_PREFIX) or vocab_file(spec) is not None


def new_packer(contract: TextContract):
    """A fresh in-graph packer (for export: its tables must belong to the served model)."""
    spec = resolve_tokenizer(contract.tokenizer)
    if spec.startswith(HUB_PREFIX):
        return HubPacker(spec[len(HUB_PREFIX):])
    vocab = vocab_file(spec)
    if vocab is None:
        raise ValueError(
            f"tokenizer {spec!r} has no vocab.txt: only WordPiece (BERT, DistilBERT, MiniLM) "
            f"and TF-Hub preprocessing can be exported with in-graph tokenisation; "
            f"BPE tokenizers (RoBERTa) can train but not export raw-string serving")
    return WordPiecePacker(vocab, contract.max_length, contract.lowercase)


def python_tokenize(contract: TextContract, texts: list[str]):
    """Hugging Face tokenizer in Python -> ``(ragged int32 ids, pad id)``."""
    from transformers import AutoTokenizer

    name = resolve_tokenizer(contract.tokenizer)
    try:
        tok = AutoTokenizer.from_pretrained(name)
    except (OSError, ValueError) as exc:
        raise TokenizerUnavailableError(
            f"cannot load a Hugging Face tokenizer from {name!r} ({str(exc)[:200]})") from exc
    enc = tok(list(texts), truncation=True, max_length=contract.max_length)
    return tf.ragged.constant(enc["input_ids"], dtype=tf.int32), int(tok.pad_token_id or 0)
