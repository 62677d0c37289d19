"""Image augmentation as preprocessing layers (flip, rotation, zoom)."""
from transferkit.common.keras import keras


def augmenter(seed: int = 0, rotation: float = 0.1, zoom: float = 0.1) -> keras.Sequential:
    """Random horizontal flip, rotation (fraction of 2π) and zoom; identity at inference."""
    return keras.Sequential([
        keras.layers.RandomFlip("horizontal", seed=seed),
        keras.layers.RandomRotation(rotation, seed=seed),
        keras.layers.RandomZoom(zoom, seed=seed),
    ], name="augment")
