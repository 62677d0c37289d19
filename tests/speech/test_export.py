"""``export_run`` on speech runs: a log-mel *contract* (features computed outside the model)
exports models that take waveforms; the TFLM microfrontend can't go to TFLite and says so."""
import json

import numpy as np
import pytest

from transferkit.common.config import (BackboneConfig, DataConfig, HeadConfig, RunConfig,
                                       TrainConfig)

TINY = "tiny_logmel_contract_test"
T = 2.0


@pytest.fixture(scope="module")
def feature_backbone():
    """A tiny CNN on log-mel ``[frames, 16]``: the pipeline computes the features."""
    from transferkit.common.keras import keras
    from transferkit.common.model.contracts import AudioContract
    from transferkit.common.model.registry import register_backbone, unregister_backbone
    from transferkit.speech.features import num_frames

    contract = AudioContract(sample_rate=16000, clip_seconds=1.0, n_mels=16, features="logmel")

    @register_backbone(TINY, domain="speech", contract=contract, licence="n/a",
                       description="tiny log-mel CNN on pipeline features (tests)")
    def build(weights=None, contract=contract):
        feats = keras.Input((num_frames(contract), contract.n_mels), name="logmel")
        x = keras.layers.Reshape((num_frames(contract), contract.n_mels, 1))(feats)
        x = keras.layers.LayerNormalization(axis=(1, 2), name="norm")(x)
        x = keras.layers.Conv2D(8, 3, strides=2, activation="relu", name="conv")(x)
        return keras.Model(feats, keras.layers.GlobalAveragePooling2D()(x), name=TINY)

    yield contract
    unregister_backbone(TINY)


def _config(name, data, epochs=3):
    return RunConfig(domain="speech", backbone=BackboneConfig(name, None),
                     head=HeadConfig(dropout=0.0),
                     train=TrainConfig(epochs=epochs, early_stopping_patience=0),
                     data=DataConfig(train=str(data), validation_split=0.2, test_split=0.25))


@pytest.fixture(scope="module")
def speech_run(feature_backbone, synthetic_sounds, tmp_path_factory):
    """The trained run and its fitted temperature; calibration.json then says T = 2."""
    from transferkit.common.train.trainer import train_run

    run_dir = train_run(_config(TINY, synthetic_sounds),
                        tmp_path_factory.mktemp("speech_export") / "run", verbose=0).run_dir
    path = run_dir / "calibration.json"
    calibration = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**calibration, "temperature": T}))
    return run_dir, calibration.get("temperature") or 1.0


@pytest.fixture(scope="module")
def clips_and_probs(speech_run, synthetic_sounds, feature_backbone):
    """Test clips as waveforms and the Keras model's outputs on their log-mel (no T)."""
    from transferkit.common.output.rundir import load
    from transferkit.speech.features import log_mel
    from transferkit.speech.pipeline import decode_clips

    items = sorted(str(p) for p in synthetic_sounds.rglob("*.wav"))[::8]
    waves = decode_clips(items, feature_backbone)
    probs = load(speech_run[0]).keras_model().predict(log_mel(waves, feature_backbone),
                                                       verbose=0)
    return items, waves, probs


def test_the_runs_own_savedmodel_takes_waveforms(speech_run, clips_and_probs):
    from transferkit.common.output.calibration import apply_temperature
    from transferkit.common.output.rundir import load

    items, _, probs = clips_and_probs
    run = load(speech_run[0])
    assert [s.shape.as_list() for s in run.predictor.input_specs.values()] == [[None, 16000]]
    np.testing.assert_allclose(run.predict(items), apply_temperature(probs, speech_run[1]),
                               atol=1e-5)


@pytest.mark.parametrize("fmt", ["savedmodel", "keras", "tflite"])
def test_exports_agree_and_apply_the_temperature(speech_run, clips_and_probs, fmt):
    from transferkit.common.keras import keras, tf
    from transferkit.common.output.calibration import apply_temperature
    from transferkit.common.output.export_run import export_run
    from transferkit.common.output.tflite import TFLitePredictor
    from transferkit.speech.features import log_mel

    result = export_run(speech_run[0], fmt)
    print(f"\nspeech {fmt}: " + result.parity.line())
    assert result.parity.passed and result.parity.examples == 18
    items, waves, probs = clips_and_probs
    if fmt == "savedmodel":
        fn = tf.saved_model.load(str(result.out_dir / "saved_model")).signatures[
            "serving_default"]
        got = fn(waveform=tf.constant(waves))["output_0"].numpy()
    elif fmt == "keras":
        model = keras.models.load_model(str(result.out_dir / "model.keras"), compile=False)
        got = model.predict(log_mel(waves, result_contract(speech_run[0])), verbose=0)
    else:
        assert result.notes == ("model.tflite takes waveform float32 [b, 16000]",)
        got = TFLitePredictor((result.out_dir / "model.tflite").read_bytes()).predict(waves)
    np.testing.assert_allclose(got, apply_temperature(probs, T), atol=1e-4)


def result_contract(run_dir):
    from transferkit.common.output.rundir import load

    return load(run_dir).contract


def test_microfrontend_run_names_the_op_and_writes_nothing(synthetic_sounds, tmp_path):
    from transferkit.common.output.export_run import export_run
    from transferkit.common.output.tflite import TFLiteConversionError
    from transferkit.common.train.trainer import train_run

    run = train_run(_config("kws_frontend", synthetic_sounds, epochs=1), tmp_path / "kws",
                    verbose=0)
    with pytest.raises(TFLiteConversionError, match=r"AudioMicrofrontend.*kws/saved_model"):
        export_run(run.run_dir, "tflite")
    assert not (run.run_dir / "export").exists() or not any((run.run_dir / "export").iterdir())
