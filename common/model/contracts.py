"""Input contracts: what a backbone expects, carried by its registration.

The data pipeline is derived from the contract and never repeated by hand
(the idea of timm's ``PretrainedCfg``).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageContract:
    """Images: the backbone takes float32 ``[batch, size, size, channels]`` in 0..255.

    ``scaling`` names the normalisation that happens *inside* the backbone model
    (``"caffe"``, ``"tf"`` = [-1, 1], ``"torch"``, ``"unit"`` = [0, 1], ``"none"``),
    so exported models take plain pixels.
    """

    size: int = 224
    channels: int = 3
    scaling: str = "tf"


@dataclass(frozen=True)
class TextContract:
    """Text: a tokenizer (HF name/dir or vocab file) and the max sequence length."""

    tokenizer: str = ""
    max_length: int = 128
    lowercase: bool = True


@dataclass(frozen=True)
class AudioContract:
    """Audio: the backbone takes float32 mono waveforms ``[batch, samples]``.

    ``clip_seconds`` is the clip length the model sees; longer clips are framed into
    windows and predictions aggregated per clip. Feature settings (window, hop, mels)
    are used where the backbone computes log-mel or MFCC features itself.
    """

    sample_rate: int = 16000
    clip_seconds: float = 1.0
    window_seconds: float = 0.025
    hop_seconds: float = 0.010
    n_mels: int = 64
    features: str = "waveform"

    @property
    def clip_samples(self) -> int:
        return int(round(self.sample_rate * self.clip_seconds))


Contract = ImageContract | TextContract | AudioContract


_CONTRACT_TYPES = {cls.__name__: cls for cls in (ImageContract, TextContract, AudioContract)}


def contract_to_dict(contract: Contract) -> dict:
    import dataclasses

    return {"type": type(contract).__name__, **dataclasses.asdict(contract)}


def contract_from_dict(raw: dict) -> Contract:
    raw = dict(raw)
    kind = raw.pop("type", None)
    if kind not in _CONTRACT_TYPES:
        raise ValueError(f"unknown contract type {kind!r}")
    return _CONTRACT_TYPES[kind](**raw)
