"""The other seed recipes end to end (quick, random init, on local colour images), and the
seed-3 own-model recipe on real Fashion-MNIST: each builds the seed's head and learns."""
import json

import pytest

import transferkit
from transferkit.common.cli.parser import main
from transferkit.common.testing import assert_beats_baseline
from tests.common.conftest import write_folders
from tests.vision.conftest import COLOURS, colour_image

SEEDS = {  # recipe: (head units, dropout, pooling) as the seed wrote it
    "mobilenetv2-3class": ((128,), 0.0, "avg"),
    "vgg16-flatten": ((256,), 0.0, "flatten"),
    "mobilenetv2-5class": ((128,), 0.2, "avg"),
}


def _figures(captured) -> dict:
    return json.loads(captured.out[captured.out.index("{"):])


@pytest.fixture(scope="module")
def colour_dir_60(tmp_path_factory):
    """Three colour classes, 60 RGB 32x32 PNGs each: the recipes' 15% test split is 27
    images, enough that guessing cannot reach the asserted margin (the shared 20-per-class
    set gave 9)."""
    return write_folders(tmp_path_factory.mktemp("colours60"), COLOURS,
                         lambda rng, c: colour_image(rng, COLOURS[c]), per_class=60, seed=3)


@pytest.mark.parametrize("recipe", sorted(SEEDS))
def test_seed_recipe_quick(recipe, colour_dir_60, tmp_path, capsys):
    assert main(["recipe", recipe, "--quick", "--out", str(tmp_path / "run"),
                 "--option", f"data={colour_dir_60}", "--option", "weights=none",
                 "--option", "size=32"]) == 0
    figures = _figures(capsys.readouterr())
    run = transferkit.load(figures["run_dir"])
    units, dropout, pooling = SEEDS[recipe]
    assert (run.config.head.units, run.config.head.dropout) == (units, dropout)
    assert run.config.backbone.options["pooling"] == pooling
    assert run.labels == ("blue", "green", "red") and figures["test_n"] == 27
    # random-init backbones, but the colour is in every pooled channel: majority + 0.3,
    # which a 1-in-3 guesser reaches on 27 images with probability 0.04%. Measured: 0.926
    # (mobilenetv2-3class, mobilenetv2-5class), 1.0 (vgg16-flatten).
    assert_beats_baseline(figures["test_accuracy"], figures["test_majority_baseline"], 0.3,
                          n=figures["test_n"], chance=1 / 3, what="test accuracy")


@pytest.fixture(scope="module")
def own_model_figures(tmp_path_factory):
    out = tmp_path_factory.mktemp("own_model")
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["recipe", "own-model-transfer", "--quick", "--out", str(out)]) == 0
    assert "own pretrained model" in buffer.getvalue()
    assert (out / "source_mlp.h5").exists()
    return json.loads(buffer.getvalue()[buffer.getvalue().index("{"):])


@pytest.mark.real_weights  # real data: Fashion-MNIST from Debian's package
def test_own_model_transfer_recipe(own_model_figures):
    figures = own_model_figures
    # Five new classes, 100 test images each: majority is 0.2 on the 500. Measured with the
    # converged phase-1 head: own model 0.502 (macro-F1 0.478), untrained same MLP 0.652.
    # Majority + 0.25 is 225 of 500; a guesser at 0.2 gets there with p ~ 1e-35.
    assert figures["test_n"] == 500
    assert_beats_baseline(figures["test_accuracy"], figures["test_majority_baseline"], 0.25,
                          n=figures["test_n"], chance=figures["test_majority_baseline"],
                          what="own-model accuracy")


@pytest.mark.real_weights
@pytest.mark.xfail(strict=True, reason="measured: the --quick source MLP (2 epochs on the "
                   "five source classes) frozen scores 0.502, below the untrained same MLP's "
                   "0.652 random features; the transfer claim does not hold in --quick")
def test_own_model_beats_untrained_same_architecture(own_model_figures):
    assert_beats_baseline(own_model_figures["test_accuracy"],
                          own_model_figures["untrained_test_accuracy"], 0.03,
                          what="own model vs untrained")
