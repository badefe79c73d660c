"""A training sampler that can resume in the middle of an epoch.

MMEngine's ``DefaultSampler`` restarts its epoch from the first index after
``--resume``, so a run killed in the middle of an epoch sees some samples of
that epoch twice and others not at all. :class:`ResumableSampler` yields the
same order (``seed + epoch`` shuffle, per-rank subsampling) but can skip the
indices a resumed run has already consumed, and it tags every index with a
seed derived from ``(seed, epoch, position)`` so that random transforms and
random sentence draws give the same result whether or not the run was
interrupted (see :class:`SeededIndex` and
:class:`~mmris.engine.runner.RISEpochBasedTrainLoop`).
"""
from typing import Iterator

from mmengine.dataset import DefaultSampler

from mmris.registry import DATA_SAMPLERS

__all__ = ['SeededIndex', 'ResumableSampler', 'sample_seed']


def sample_seed(seed: int, epoch: int, position: int) -> int:
    """A 32-bit seed for sample ``position`` of ``epoch`` (stable hash)."""
    value = (int(seed) * 1000003 + int(epoch)) * 1000003 + int(position)
    value ^= value >> 29
    value = (value * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    value ^= value >> 32
    return int(value & 0xFFFFFFFF)


class SeededIndex(int):
    """A dataset index that carries the seed of its sample draw.

    It is an ``int`` (datasets index with it as usual) with a ``seed``
    attribute that :class:`~mmris.engine.runner.RISEpochBasedTrainLoop`'s
    dataset wrapper uses to seed ``random``, ``numpy`` and ``torch`` before
    the sample is loaded and augmented.
    """

    def __new__(cls, value: int, seed: int) -> 'SeededIndex':
        obj = super().__new__(cls, value)
        obj.seed = seed
        return obj

    def __reduce__(self):
        return (SeededIndex, (int(self), self.seed))


@DATA_SAMPLERS.register_module()
class ResumableSampler(DefaultSampler):
    """``DefaultSampler`` with mid-epoch resume and per-sample seeds.

    Args:
        dataset (Sized): The dataset.
        shuffle (bool): Shuffle with ``seed + epoch``. Defaults to True.
        seed (int, optional): Shuffle seed; None takes a synchronised
            random seed (as ``DefaultSampler``).
        round_up (bool): Pad to a multiple of the world size. Defaults to
            True.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._skip = 0

    def skip_next(self, num_samples: int) -> None:
        """Drop the first ``num_samples`` indices of this rank's next epoch.

        Args:
            num_samples (int): Samples already consumed by this rank in the
                current epoch (completed batches x batch size).
        """
        if num_samples < 0:
            raise ValueError(f'num_samples must be >= 0, got {num_samples}')
        self._skip = int(num_samples)

    def __iter__(self) -> Iterator[int]:
        indices = list(super().__iter__())
        skip, self._skip = self._skip, 0
        positions = range(len(indices))
        return iter([
            SeededIndex(idx,
                        sample_seed(self.seed, self.epoch,
                                    pos * self.world_size + self.rank))
            for pos, idx in zip(positions, indices)
        ][skip:])
