"""`keras-genzoo train` that kills itself with SIGKILL after a given number of steps.

    python tests/killable_train.py KILL_AT_STEP train dae_dense --epochs 3 --out RUN

Fault injection for the resume test: the run layer's callbacks get one more that
sends SIGKILL to this process at the end of the first execution that reaches global
training step KILL_AT_STEP, so the process dies mid-epoch as a crashed or preempted job
would. Keras calls `on_train_batch_end` once per execution (several steps on a CPU),
with the index of the execution's last step in the epoch, so steps are counted from
that index, not from the number of calls.
"""

import os
import signal
import sys


def main() -> int:
    kill_at = int(sys.argv[1])
    sys.argv[0] = "keras-genzoo"  # start as the console script does (quietly)
    from keras_genzoo import cli  # first: it loads TensorFlow quietly

    # isort: split
    import keras

    from keras_genzoo.training import train as train_module

    class KillAtStep(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.steps_before_epoch = 0
            self.steps_in_epoch = 0

        def on_epoch_begin(self, epoch, logs=None):
            self.steps_before_epoch += self.steps_in_epoch
            self.steps_in_epoch = 0

        def on_train_batch_end(self, batch, logs=None):
            self.steps_in_epoch = batch + 1
            if self.steps_before_epoch + self.steps_in_epoch >= kill_at:
                os.kill(os.getpid(), signal.SIGKILL)

    run_callbacks = train_module.run_callbacks
    train_module.run_callbacks = lambda *args, **kwargs: [*run_callbacks(*args, **kwargs), KillAtStep()]
    return cli.main(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
