"""A hook that kills the training process, for resume tests."""
import os

from mmengine.hooks import Hook

from mmris.registry import HOOKS

__all__ = ['ExitAfterIterHook']


@HOOKS.register_module()
class ExitAfterIterHook(Hook):
    """End the process with ``os._exit`` right after iteration ``exit_iter``.

    No cleanup runs (no ``after_train``, no final checkpoint), as with a
    kill. Lowest priority, so checkpoint hooks of that iteration run first.

    Args:
        exit_iter (int): 1-based training iteration after which to exit.
        code (int): Exit status. Defaults to 3.
    """

    priority = 'LOWEST'

    def __init__(self, exit_iter: int, code: int = 3) -> None:
        self.exit_iter = exit_iter
        self.code = code

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if runner.iter + 1 >= self.exit_iter:
            os._exit(self.code)
