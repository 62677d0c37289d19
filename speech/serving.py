"""The speech serving model: float32 waveforms ``[batch, clip_samples]`` in.

Most speech backbones take waveforms and compute their features inside (``LogMel``, the
TFLM microfrontend), so the trained model already is the serving model. A contract with
``features="logmel"``/``"mfcc"`` has the pipeline compute the features outside the model;
for it :func:`serving_model` puts the same feature function
(:func:`transferkit.speech.features.features_fn`) in front of the model, so the SavedModel
takes waveforms like every other speech export. The log-mel front end is built from TFLite
builtins (GATHER, RFFT), so that model converts to TFLite too.

Example:
    >>> serving = serving_model(model, AudioContract(features="logmel", n_mels=40))  # doctest: +SKIP
    >>> serving.input_shape  # doctest: +SKIP
    (None, 16000)
"""
from __future__ import annotations

from transferkit.common.keras import keras, tf
from transferkit.common.model.contracts import AudioContract, contract_from_dict, contract_to_dict
from transferkit.speech.features import features_fn


@keras.utils.register_keras_serializable(package="transferkit")
class AudioFeatures(keras.layers.Layer):
    """Waveforms ``[batch, samples]`` -> the contract's features, as the pipeline makes them."""

    def __init__(self, contract: AudioContract | dict, **kwargs):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        self.contract = contract if isinstance(contract, AudioContract) else \
            contract_from_dict(contract)
        self._features = features_fn(self.contract)

    def call(self, waves):
        return self._features(tf.cast(waves, tf.float32))

    def get_config(self):
        return {**super().get_config(), "contract": contract_to_dict(self.contract)}


def serving_model(model: keras.Model, contract: AudioContract) -> keras.Model | None:
    """``model`` behind the contract's feature function, taking waveforms; None when the
    contract's model input already is the waveform."""
    if features_fn(contract) is None:
        return None
    wave = keras.Input((contract.clip_samples,), name="waveform")
    feats = AudioFeatures(contract, name=f"{contract.features}_features")(wave)
    return keras.Model(wave, model(feats), name="waveform_serving")


def takes_waveforms(model, contract: AudioContract) -> bool:
    """Whether ``model`` (tf_keras model or a predictor with ``input_specs``) takes waveforms
    ``[batch, samples]`` rather than the contract's features ``[batch, frames, bins]``."""
    if features_fn(contract) is None:
        return True
    specs = getattr(model, "input_specs", None)  # SavedModel / TFLite predictors
    shapes = [s.shape for s in specs.values()] if specs else \
        [i.shape for i in getattr(model, "inputs", None) or ()]
    return len(shapes) == 1 and len(shapes[0]) == 2
