"""One global seed for Python, NumPy and TensorFlow."""
import os
import random

import numpy as np


def set_global_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow (and tf_keras) in one call."""
    from transferkit.common.keras import keras

    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)
