"""The other seed recipes end to end (quick, random init, on local colour images), and the
seed-3 own-model recipe on real Fashion-MNIST: each builds the seed's head and learns."""
import json

import pytest

import transferkit
from transferkit.common.cli import main

SEEDS = {  # recipe: (head units, dropout, pooling) as the seed wrote it
    "mobilenetv2-3class": ((128,), 0.0, "avg"),
    "vgg16-flatten": ((256,), 0.0, "flatten"),
    "mobilenetv2-5class": ((128,), 0.2, "avg"),
}


def _figures(captured) -> dict:
    return json.loads(captured.out[captured.out.index("{"):])


@pytest.mark.parametrize("recipe", sorted(SEEDS))
def test_seed_recipe_quick(recipe, colour_dir, tmp_path, capsys):
    assert main(["recipe", recipe, "--quick", "--out", str(tmp_path / "run"),
                 "--option", f"data={colour_dir}", "--option", "weights=none",
                 "--option", "size=32"]) == 0
    figures = _figures(capsys.readouterr())
    run = transferkit.load(figures["run_dir"])
    units, dropout, pooling = SEEDS[recipe]
    assert (run.config.head.units, run.config.head.dropout) == (units, dropout)
    assert run.config.backbone.options["pooling"] == pooling
    assert run.labels == ("blue", "green", "red") and figures["test_n"] == 9
    assert figures["test_accuracy"] > figures["test_majority_baseline"]


@pytest.mark.real_weights  # real data: Fashion-MNIST from Debian's package
def test_own_model_transfer_recipe(tmp_path, capsys):
    assert main(["recipe", "own-model-transfer", "--quick", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    figures = _figures(captured)
    assert "own pretrained model" in captured.out
    with capsys.disabled():
        print(f"\n[own-model-transfer --quick] own model {figures['test_accuracy']:.3f}, "
              f"untrained same MLP {figures['untrained_test_accuracy']:.3f}")
    # Five new classes, chance 0.2: the frozen source MLP's features carry over.
    assert figures["test_accuracy"] > 0.5
    assert (tmp_path / "source_mlp.h5").exists()
