"""ResumableSampler + per-sample seeding: the same order and the same random
draws per sample whether an epoch is read whole or resumed after k samples,
with or without DataLoader workers."""
import pickle
import random

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from mmris.datasets import ResumableSampler, SeededIndex
from mmris.engine.runner.resumable_loop import enable_per_sample_seeding


class RandomDraws(Dataset):
    """Each sample is its index and three random draws (python, numpy,
    torch), as random transforms make them."""

    def __len__(self):
        return 12

    def __getitem__(self, idx):
        return (int(idx), random.random(), float(np.random.rand()),
                float(torch.rand(1)))


def _epoch(sampler, epoch, workers, skip=0):
    dataset = RandomDraws()
    enable_per_sample_seeding(dataset)
    sampler.set_epoch(epoch)
    sampler.skip_next(skip)
    loader = DataLoader(dataset, batch_size=3, sampler=sampler,
                        num_workers=workers, collate_fn=lambda b: b)
    return [s for batch in loader for s in batch]


def test_seeded_index_pickles():
    idx = pickle.loads(pickle.dumps(SeededIndex(5, seed=123)))
    assert idx == 5 and idx.seed == 123 and isinstance(idx, int)


@pytest.mark.parametrize('workers', [0, 2])
def test_resume_after_k_samples_gives_the_same_draws(workers):
    sampler = ResumableSampler(RandomDraws(), shuffle=True, seed=7)
    whole = _epoch(sampler, epoch=3, workers=workers)
    assert sorted(s[0] for s in whole) == list(range(12))
    resumed = _epoch(sampler, epoch=3, workers=workers, skip=6)
    assert resumed == whole[6:]
    # the skip applies once; other epochs draw other orders and values
    again = _epoch(sampler, epoch=3, workers=workers)
    assert again == whole
    other = _epoch(sampler, epoch=4, workers=workers)
    assert [s[0] for s in other] != [s[0] for s in whole]
    assert {s[1] for s in other}.isdisjoint({s[1] for s in whole})


def test_skip_validates():
    sampler = ResumableSampler(RandomDraws(), seed=0)
    with pytest.raises(ValueError):
        sampler.skip_next(-1)
