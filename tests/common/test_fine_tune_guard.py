"""Phase 2 never leaves the model worse on validation than phase 1 left it."""
import numpy as np

from tests.common.conftest import run_config


def test_a_harmful_fine_tune_is_rolled_back(tiny_backbone, colour_folders, tmp_path, capsys):
    from transferkit.common.output.rundir import load
    from transferkit.common.train.trainer import train_run

    # A learning rate of 50 on every layer wrecks the network within one epoch.
    config = run_config(colour_folders, fine_tune_epochs=2, unfreeze_top=0,
                        fine_tune_learning_rate=50.0, backbone_lr_multiplier=1.0,
                        warmup_epochs=0.0, lr_decay="constant", weight_decay=0.0)
    result = train_run(config, tmp_path / "run", verbose=0)
    assert "keeping the phase-1 weights" in capsys.readouterr().err
    assert result.metrics["test"]["accuracy"] >= 0.8
    # the exported model is the restored one
    run = load(tmp_path / "run")
    items = sorted(str(p) for p in (colour_folders / "red").glob("*.png"))[:8]
    np.testing.assert_allclose(run.predict(items), result.model.predict(_images(items), verbose=0),
                               atol=1e-5)


def _images(items):
    from PIL import Image

    return np.stack([np.asarray(Image.open(p).convert("RGB"), np.float32) for p in items])
