"""Checkpoints at epoch ends and, on long epochs, every N iterations.

MMEngine's ``CheckpointHook`` saves either by epoch or by iteration. With
epoch checkpoints only, a run killed late in a long epoch (RefCOCO: ~1900
iterations of batch 64) loses that whole epoch. :class:`RISCheckpointHook`
keeps the epoch checkpoints (``epoch_N.pth``, ``max_keep_ckpts``,
``save_last``, ``save_best`` as usual) and also writes ``iter_N.pth`` every
``iter_interval`` iterations inside an epoch, keeping only the newest one
(it is removed, with any left by a killed run, once the epoch's
checkpoint is written). ``last_checkpoint``
always names the newest file, so ``--resume`` continues from it, and
:class:`~mmris.engine.runner.RISEpochBasedTrainLoop` continues the epoch
from the right batch.
"""
import os
import os.path as osp
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from mmris.registry import HOOKS

__all__ = ['RISCheckpointHook']


@HOOKS.register_module()
class RISCheckpointHook(CheckpointHook):
    """``CheckpointHook`` plus rolling mid-epoch checkpoints.

    Args:
        iter_interval (int, optional): Also save ``iter_{N}.pth`` every
            ``iter_interval`` training iterations (not at an epoch's last
            iteration, which the epoch checkpoint covers). None or 0 turns
            it off. Defaults to None.
        **kwargs: Arguments of :class:`mmengine.hooks.CheckpointHook`
            (``interval``, ``by_epoch``, ``max_keep_ckpts`` ...).
    """

    def __init__(self, iter_interval: Optional[int] = None, **kwargs) -> None:
        super().__init__(**kwargs)
        if iter_interval is not None and iter_interval < 0:
            raise ValueError(
                f'iter_interval must be >= 0 or None, got {iter_interval}')
        self.iter_interval = iter_interval or 0
        self._iter_ckpt: Optional[str] = None

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        """Save a rolling ``iter_{N}.pth`` every ``iter_interval`` iters."""
        super().after_train_iter(runner, batch_idx, data_batch, outputs)
        if not self.by_epoch or not self.iter_interval:
            return
        if not self.every_n_train_iters(runner, self.iter_interval):
            return
        loop = runner.train_loop
        epoch_len = len(loop.dataloader)
        if (runner.iter + 1) % epoch_len == 0 or \
                runner.iter + 1 >= loop.max_iters:
            return  # the epoch checkpoint comes right after
        filename = f'iter_{runner.iter + 1}.pth'
        runner.logger.info(
            f'Saving checkpoint at {runner.iter + 1} iterations '
            f'(epoch {runner.epoch + 1}, mid-epoch)')
        runner.save_checkpoint(
            self.out_dir,
            filename,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=dict(epoch=runner.epoch, iter=runner.iter + 1),
            by_epoch=False,
            backend_args=self.backend_args)
        if not is_main_process():
            return
        path = self.file_backend.join_path(self.out_dir, filename)
        self._remove_iter_ckpt()
        self._iter_ckpt = path
        with open(osp.join(runner.work_dir, 'last_checkpoint'), 'w') as f:
            f.write(path)

    def after_train_epoch(self, runner) -> None:
        """Save the epoch checkpoint, then drop the mid-epoch one."""
        super().after_train_epoch(runner)
        if not self.iter_interval or not is_main_process() or \
                not self.every_n_epochs(runner, self.interval,
                                        self.save_begin):
            return
        self._remove_iter_ckpt()
        # also the one a killed run left behind before --resume
        for name in os.listdir(self.out_dir):
            if name.startswith('iter_') and name.endswith('.pth'):
                os.remove(osp.join(self.out_dir, name))

    def _remove_iter_ckpt(self) -> None:
        if self._iter_ckpt is not None and osp.isfile(self._iter_ckpt):
            os.remove(self._iter_ckpt)
        self._iter_ckpt = None
