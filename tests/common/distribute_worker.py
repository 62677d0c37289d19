"""Training processes for the tf.distribute tests: ``python -m tests.common.distribute_worker
MODE DOMAIN DATA OUT [TOKENIZER]``.

``mirrored``: the CPU is split into two logical devices, then the same tiny run trains once on
one device (``strategy=default``) into ``OUT/default`` and once with ``MirroredStrategy`` over
both devices into ``OUT/mirrored``. ``multiworker``: one worker of a ``TF_CONFIG`` cluster
(set by the test) trains with ``MultiWorkerMirroredStrategy`` into ``OUT``. DOMAIN is
``vision`` (the tiny CNN), ``text`` (the tiny BERT in TOKENIZER) or ``speech`` (a small
random log-mel CNN).
"""
import sys

from transferkit.common.keras import tf


def config(domain: str, data: str, strategy: str, tokenizer: str = ""):
    from tests.common.conftest import run_config
    from transferkit.common.config import BackboneConfig, HeadConfig
    import dataclasses

    train = dict(epochs=6, head_fit="epochs", batch_size=16, fine_tune_epochs=2,
                 unfreeze_top=3, strategy=strategy, fine_tune_augment=False)
    base = run_config(data, **train)
    if domain == "text":
        options = {"tokenizer": tokenizer, "max_length": 32}
        return dataclasses.replace(base, domain="text", head=HeadConfig(dropout=0.0),
                                   backbone=BackboneConfig("hf_encoder", tokenizer, options))
    if domain == "speech":
        return dataclasses.replace(base, domain="speech", backbone=BackboneConfig(
            "logmel_cnn", None, {"widths": "8,16,32"}))
    return base


def _register_tiny() -> None:
    from tests.common.conftest import SIZE, TINY, tiny_cnn_layers
    from transferkit.common.model.contracts import ImageContract
    from transferkit.common.model.registry import register_backbone

    register_backbone(TINY, domain="vision", contract=ImageContract(size=SIZE, scaling="unit"),
                      description="tiny", licence="n/a")(
        lambda weights=None, contract=None: tiny_cnn_layers(contract))


def main(argv) -> None:
    mode, domain, data, out = argv[:4]
    tokenizer = argv[4] if len(argv) > 4 else ""
    if mode == "mirrored":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from transferkit.common.train.trainer import train_run

    _register_tiny()
    strategies = ("default", "mirrored") if mode == "mirrored" else ("multiworker",)
    for strategy in strategies:
        target = f"{out}/{strategy}" if mode == "mirrored" else out
        train_run(config(domain, data, strategy, tokenizer), target, verbose=0)


if __name__ == "__main__":
    main(sys.argv[1:])
