"""The speech domain: waveform backbones, audio sources and the audio pipeline.

Importing this package registers the ``"speech"`` domain and every backbone, named weight
set and dataset in its modules (a new backbone is one new file here). Every backbone takes
float32 mono waveforms ``[batch, clip_samples]``; any feature extraction (log-mel, the TFLM
microfrontend) happens inside the model, so exports take waveforms too. A contract with
``features="logmel"``/``"mfcc"`` has them computed by the pipeline; its exports put them in
front of the model (:mod:`transferkit.speech.serving`), so they take waveforms as well.
"""
from transferkit.common.data.domain import Domain, register_domain
from transferkit.common.plugins import import_submodules
from transferkit.speech.audio_io import check_audio
from transferkit.speech.data import read_audio_inputs, read_audio_source
from transferkit.speech.pipeline import make_audio_dataset, predict_clips
from transferkit.speech.serving import serving_model

register_domain(Domain(name="speech", read_source=read_audio_source,
                       make_dataset=make_audio_dataset, read_inputs=read_audio_inputs,
                       serving_model=serving_model, predict=predict_clips,
                       check_input=check_audio, file_items=True))
import_submodules(__name__)
