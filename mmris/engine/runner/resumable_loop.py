"""An epoch-based training loop whose runs can be killed and resumed exactly.

MMEngine's ``EpochBasedTrainLoop`` restarts an interrupted epoch from its
first batch, and its random streams (data augmentation, random sentence
draws, dropout) start again from the seed, so a run resumed from an
iteration checkpoint differs from the uninterrupted run. This loop

* skips, on resume, the batches of the current epoch the checkpoint has
  already seen (with :class:`~mmris.datasets.samplers.ResumableSampler`,
  without loading them),
* seeds ``random`` / ``numpy`` / ``torch`` before every iteration from
  ``(seed, iteration)`` and, through a thin dataset wrapper, before every
  sample from ``(seed, epoch, position)``, so every random draw after the
  checkpoint is the same as in the uninterrupted run,
* fills schedule fields given relative to ``max_epochs``
  (``milestone_ratios``, ``begin_ratio``, ``end_ratio`` of a parameter
  scheduler, ``val_interval=None`` for no validation during training), so
  ``--cfg-options train_cfg.max_epochs=N`` keeps the schedule consistent.

``tools/train.py`` uses it for every config whose ``train_cfg`` is an
``EpochBasedTrainLoop`` and swaps a ``DefaultSampler`` of the training
loader for ``ResumableSampler`` (see :func:`mmris.utils.build_runner`).
"""
import copy
import logging
import random
from typing import Dict, List, Optional, Union

import numpy as np
import torch
from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop

from mmris.datasets.samplers import sample_seed
from mmris.registry import LOOPS

__all__ = ['RISEpochBasedTrainLoop', 'seed_everything']

_NO_VAL = 10**9


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global RNG and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


_SEEDED_CLASSES: Dict[type, type] = {}


def _seeded_getitem(self, idx):
    seed = getattr(idx, 'seed', None)
    if seed is not None:
        seed_everything(seed)
        idx = int(idx)
    return super(type(self), self).__getitem__(idx)


def enable_per_sample_seeding(dataset) -> None:
    """Make ``dataset[SeededIndex]`` seed the RNGs before loading the sample.

    The instance's class is replaced by a subclass with a seeding
    ``__getitem__`` (works for any dataset, ``ConcatDataset`` included).
    DataLoader workers inherit it through ``fork`` (mmris' default
    ``mp_start_method``).
    """
    cls = type(dataset)
    if cls in _SEEDED_CLASSES.values():
        return
    if cls not in _SEEDED_CLASSES:
        _SEEDED_CLASSES[cls] = type(cls.__name__, (cls, ), {
            '__getitem__': _seeded_getitem,
            '__doc__': cls.__doc__
        })
    dataset.__class__ = _SEEDED_CLASSES[cls]


def resolve_relative_schedule(schedulers: Union[dict, List[dict], None],
                              max_epochs: int) -> None:
    """Fill ``milestone_ratios`` / ``begin_ratio`` / ``end_ratio`` in place.

    Args:
        schedulers (dict | list[dict] | None): Parameter-scheduler configs
            (a dict of lists for several optimizers).
        max_epochs (int): Training length in epochs.
    """
    if schedulers is None:
        return
    if isinstance(schedulers, dict) and 'type' not in schedulers:
        for value in schedulers.values():
            resolve_relative_schedule(value, max_epochs)
        return
    for sched in (schedulers if isinstance(schedulers, list) else
                  [schedulers]):
        if not isinstance(sched, dict):
            continue
        if 'milestone_ratios' in sched:
            ratios = sched.pop('milestone_ratios')
            sched['milestones'] = sorted(
                {max(1, int(round(r * max_epochs)))
                 for r in ratios})
        for key in ('begin', 'end'):
            ratio = sched.pop(f'{key}_ratio', None)
            if ratio is not None:
                sched[key] = int(round(ratio * max_epochs))


@LOOPS.register_module()
class RISEpochBasedTrainLoop(EpochBasedTrainLoop):
    """``EpochBasedTrainLoop`` with exact mid-epoch resume.

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): The training dataloader.
        max_epochs (int): Total training epochs.
        val_begin (int): Epoch from which validation runs. Defaults to 1.
        val_interval (int, optional): Validation interval in epochs; None
            never validates during training. Defaults to 1.
        dynamic_intervals (list[tuple], optional): As in MMEngine.
        seed_per_iter (bool): Reseed the RNGs from ``(seed, iteration)``
            before every iteration and from ``(seed, epoch, position)``
            before every sample. Defaults to True.
    """

    def __init__(self,
                 runner,
                 dataloader,
                 max_epochs: int,
                 val_begin: int = 1,
                 val_interval: Optional[int] = 1,
                 dynamic_intervals=None,
                 seed_per_iter: bool = True) -> None:
        if val_interval is None:
            val_interval = _NO_VAL
        super().__init__(runner, dataloader, max_epochs, val_begin,
                         val_interval, dynamic_intervals)
        self.seed_per_iter = seed_per_iter
        # the param schedulers are still configs here (built after the loop)
        if runner.param_schedulers is not None and not _is_built(
                runner.param_schedulers):
            schedulers = copy.deepcopy(runner.param_schedulers)
            resolve_relative_schedule(schedulers, self._max_epochs)
            runner.param_schedulers = schedulers
        if seed_per_iter:
            if _workers_forked(self.dataloader):
                enable_per_sample_seeding(self.dataloader.dataset)
            else:
                print_log(
                    f'{type(self).__name__}: DataLoader workers are not '
                    'forked (mp_start_method), so samples are not seeded '
                    'one by one; a resumed run may draw other random '
                    'augmentations than the uninterrupted one.',
                    logger='current',
                    level=logging.WARNING)
        sampler = self.dataloader.sampler
        if not hasattr(sampler, 'skip_next'):
            print_log(
                f'{type(self).__name__}: the training sampler '
                f'{type(sampler).__name__} cannot skip samples; a run '
                'resumed in the middle of an epoch will restart that epoch. '
                'Use ResumableSampler for an exact resume.',
                logger='current',
                level=logging.WARNING)

    def _base_seed(self) -> int:
        seed = getattr(self.runner, 'seed', None)
        return 0 if seed is None else int(seed)

    def run_epoch(self) -> None:
        """Iterate one epoch, skipping batches a resumed run has done."""
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        done = self._iter - self._epoch * len(self.dataloader)
        start = 0
        if 0 < done < len(self.dataloader):
            sampler = self.dataloader.sampler
            if hasattr(sampler, 'skip_next'):
                sampler.skip_next(done * self.dataloader.batch_size)
                start = done
                print_log(
                    f'Resuming epoch {self._epoch + 1} after batch {done} '
                    f'of {len(self.dataloader)}.',
                    logger='current')
        iterator = iter(self.dataloader)
        idx = start
        while True:
            if self.seed_per_iter:
                seed_everything(sample_seed(self._base_seed(), -1, self._iter))
            try:
                data_batch = next(iterator)
            except StopIteration:
                break
            if self.seed_per_iter:
                seed_everything(sample_seed(self._base_seed(), -2, self._iter))
            self.run_iter(idx, data_batch)
            idx += 1
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1


def _workers_forked(dataloader) -> bool:
    """True when the loader has no workers or forks them."""
    if getattr(dataloader, 'num_workers', 0) == 0:
        return True
    import torch.multiprocessing as mp
    context = getattr(dataloader, 'multiprocessing_context', None)
    method = context.get_start_method() if context is not None \
        else mp.get_start_method(allow_none=True)
    return method in (None, 'fork')


def _is_built(schedulers) -> bool:
    if isinstance(schedulers, dict) and 'type' not in schedulers:
        return any(_is_built(v) for v in schedulers.values())
    items = schedulers if isinstance(schedulers, list) else [schedulers]
    return any(not isinstance(s, dict) for s in items)
