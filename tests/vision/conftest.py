"""Vision fixtures: small learnable image sets written with PIL, and a tiny TF-Hub model.

Nothing is downloaded: every image and model here is made by the test session.
"""
import numpy as np
import pytest

from tests.common.conftest import write_folders

COLOURS = {"red": 0, "green": 1, "blue": 2}  # class -> its dominant channel
PATTERNS = ("top", "bottom", "left", "right")  # class -> the bright half of a 28x28 image


def colour_image(rng, channel: int, size: int = 32) -> np.ndarray:
    """Noisy RGB image whose ``channel`` is clearly brighter than the other two."""
    image = rng.uniform(0, 110, (size, size, 3))
    image[..., channel] += rng.uniform(90, 140)
    return image.clip(0, 255).astype(np.uint8)


def pattern_image(rng, pattern: str, size: int = 28) -> np.ndarray:
    """Noisy grayscale image with one half bright (``top``/``bottom``/``left``/``right``)."""
    image = rng.uniform(0, 90, (size, size))
    half = size // 2
    rows = {"top": np.s_[:half], "bottom": np.s_[half:], "left": np.s_[:, :half],
            "right": np.s_[:, half:]}[pattern]
    image[rows] += rng.uniform(100, 160)
    return image.clip(0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def colour_dir(session_tmp):
    """Three colour classes, 20 RGB 32x32 PNGs each."""
    return write_folders(session_tmp / "vision" / "colours", COLOURS,
                         lambda rng, c: colour_image(rng, COLOURS[c]), per_class=20)


@pytest.fixture(scope="session")
def pattern_dir(session_tmp):
    """Four bright-half classes, 30 grayscale 28x28 PNGs each (the MLP's input)."""
    return write_folders(session_tmp / "vision" / "patterns", PATTERNS, pattern_image,
                         per_class=30, seed=1)


@pytest.fixture(scope="session")
def hub_feature_vector(session_tmp, tf_keras):
    """A SavedModel with TF-Hub's image feature-vector signature: [b,h,w,3] in [0,1] -> [b,16].

    Features are a fixed projection of the per-channel means and spreads, so colour classes
    are separable; the projection is a variable, as in real TF-Hub models.
    """
    from transferkit.common.keras import tf

    module = tf.Module()
    module.w = tf.Variable(np.random.default_rng(0).normal(size=(6, 16)).astype("float32"))

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
    def call(images):
        stats = tf.concat([tf.reduce_mean(images, axis=[1, 2]),
                           tf.math.reduce_std(images, axis=[1, 2])], axis=-1)
        return tf.nn.relu(stats @ module.w)

    module.__call__ = call
    path = session_tmp / "vision" / "hub_feature_vector"
    tf.saved_model.save(module, str(path))
    return path
