"""A training process for the kill-and-resume test: ``python -m tests.common.kill_resume_worker
DATA OUT [--resume] [--slow SECONDS]``.

Op determinism is on; ``--slow`` sleeps after each epoch's checkpoint (numbers unchanged), so
the test has time to SIGKILL it part-way.
"""
import sys
import time

from transferkit.common.keras import tf

EPOCHS = 10


def main(argv) -> None:
    tf.config.experimental.enable_op_determinism()
    from tests.common.conftest import SIZE, TINY, run_config, tiny_cnn_layers
    from transferkit.common.model.contracts import ImageContract
    from transferkit.common.model.registry import register_backbone
    from transferkit.common.train import callbacks as cb
    from transferkit.common.train.trainer import train_run

    register_backbone(TINY, domain="vision", contract=ImageContract(size=SIZE, scaling="unit"),
                      description="tiny", licence="n/a")(
        lambda weights=None, contract=None: tiny_cnn_layers(contract))
    slow = float(argv[argv.index("--slow") + 1]) if "--slow" in argv else 0.0

    class Slow(cb.ResumeState):
        def on_epoch_end(self, epoch, logs=None):
            super().on_epoch_end(epoch, logs)
            time.sleep(slow)

    cb.ResumeState = Slow
    config = run_config(argv[0], epochs=EPOCHS, head_fit="epochs", batch_size=8)
    train_run(config, argv[1], verbose=0, resume="--resume" in argv)


if __name__ == "__main__":
    main(sys.argv[1:])
