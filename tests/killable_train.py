"""`keras-genzoo train` that kills itself with SIGKILL after a given number of steps.

    python tests/killable_train.py KILL_AT_STEP train dae_dense --epochs 3 --out RUN

Fault injection for the resume test: the run layer's callbacks get one more that
sends SIGKILL to this process at the end of global training step KILL_AT_STEP, so the
process dies mid-epoch as a crashed or preempted job would.
"""

import os
import signal
import sys


def main() -> int:
    kill_at = int(sys.argv[1])
    sys.argv[0] = "keras-genzoo"  # start as the console script does (quietly)
    import keras

    from keras_genzoo import cli  # first: it loads TensorFlow
    from keras_genzoo.training import train as train_module

    class KillAtStep(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.steps = 0

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1
            if self.steps == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)

    run_callbacks = train_module.run_callbacks
    train_module.run_callbacks = lambda *args, **kwargs: [*run_callbacks(*args, **kwargs), KillAtStep()]
    return cli.main(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
