"""transferkit: transfer learning for vision, text and speech on TensorFlow (tf_keras).

What a user or a plugin needs is importable from here; module paths inside may move.

Example:
    >>> import transferkit
    >>> transferkit.list_backbones("vision")[:2]  # doctest: +SKIP
    ['efficientnet_b0', 'inception_v3']
    >>> backbone = transferkit.create_backbone("mobilenet_v2", weights=None, size=96)  # doctest: +SKIP
    >>> result = transferkit.train(transferkit.RunConfig(...), "runs/x")  # doctest: +SKIP
    >>> transferkit.load("runs/x").classify(["cat.jpg"])  # doctest: +SKIP
"""
import importlib
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

__version__ = "0.1.0"

# name -> (module, attribute). Lazy, so that `import transferkit` (and the CLI's --help)
# stays fast: TensorFlow takes ~10 s to import.
_PUBLIC = {
    "register_backbone": ("transferkit.common.model.registry", "register_backbone"),
    "create_backbone": ("transferkit.common.model.registry", "create_backbone"),
    "list_backbones": ("transferkit.common.model.registry", "list_backbones"),
    "get_backbone_spec": ("transferkit.common.model.registry", "get_backbone_spec"),
    "Backbone": ("transferkit.common.model.registry", "Backbone"),
    "as_backbone": ("transferkit.common.model.registry", "as_backbone"),
    "WeightSource": ("transferkit.common.model.weights", "WeightSource"),
    "WeightsUnavailableError": ("transferkit.common.model.weights", "WeightsUnavailableError"),
    "ImageContract": ("transferkit.common.model.contracts", "ImageContract"),
    "TextContract": ("transferkit.common.model.contracts", "TextContract"),
    "AudioContract": ("transferkit.common.model.contracts", "AudioContract"),
    "RunConfig": ("transferkit.common.config", "RunConfig"),
    "BackboneConfig": ("transferkit.common.config", "BackboneConfig"),
    "DataConfig": ("transferkit.common.config", "DataConfig"),
    "HeadConfig": ("transferkit.common.config", "HeadConfig"),
    "TrainConfig": ("transferkit.common.config", "TrainConfig"),
    "train": ("transferkit.common.train.trainer", "train_run"),
    "load": ("transferkit.common.output.rundir", "load"),
    "register_dataset": ("transferkit.common.data.datasets", "register_dataset"),
    "Dataset": ("transferkit.common.data.datasets", "Dataset"),
    "register_recipe": ("transferkit.common.recipe_registry", "register_recipe"),
}
__all__ = sorted(_PUBLIC)


def __getattr__(name):
    if name in _PUBLIC:
        module, attribute = _PUBLIC[name]
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'transferkit' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_PUBLIC))
