"""The speech domain: waveform backbones, audio sources and the audio pipeline.

Importing this package registers its backbones, named weights and the ``"speech"`` domain.
Every backbone takes float32 mono waveforms ``[batch, clip_samples]``; any feature
extraction (log-mel, the TFLM microfrontend) happens inside the model, so exports take
waveforms too.
"""
from transferkit.common.domain import Domain, register_domain
from transferkit.speech import kws_mobilenetv2  # noqa: F401  (registers backbones)
from transferkit.speech.data import read_audio_inputs, read_audio_source
from transferkit.speech.pipeline import make_audio_dataset, predict_clips

for _optional in ("kws_frontend", "logmel_cnn", "hub_audio", "crepe_tiny"):
    try:  # written in stages; each registers itself when present
        __import__(f"transferkit.speech.{_optional}")
    except ModuleNotFoundError as exc:
        if exc.name != f"transferkit.speech.{_optional}":
            raise

register_domain(Domain(name="speech", read_source=read_audio_source,
                       make_dataset=make_audio_dataset, read_inputs=read_audio_inputs,
                       predict=predict_clips))
