"""transferkit: transfer learning for vision, text and speech on TensorFlow (tf_keras).

Example:
    >>> import transferkit
    >>> transferkit.list_backbones("vision")[:2]  # doctest: +SKIP
    ['efficientnet_b0', 'inception_v3']
"""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

__version__ = "0.1.0"


def __getattr__(name):
    # Lazy so that `import transferkit` (and the CLI's --help) stays fast: TF takes ~10 s.
    if name in {"create_backbone", "list_backbones", "get_backbone_spec"}:
        from transferkit.common import registry

        return getattr(registry, name)
    if name == "load":
        from transferkit.common.rundir import load

        return load
    raise AttributeError(f"module 'transferkit' has no attribute {name!r}")
