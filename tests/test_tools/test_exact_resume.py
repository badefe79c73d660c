"""A run killed in the middle of an epoch and resumed with --resume ends with
bit-identical weights to the uninterrupted run (same data order, same random
sentence draws and flips after the checkpoint), and --resume without a
checkpoint says so."""
import os.path as osp

import torch

from e2e_utils import run_tool, write_toy_config
from mmris.utils import load_trusted_checkpoint

RANDOM_DATA = '''_base_ = ['./toy.py']
img_scale = (64, 64)
train_pipeline = [
    dict(type='LoadRefImageFromFile'),
    dict(type='LoadRefMask'),
    dict(type='RandomFlipText', prob=0.5),
    dict(type='LetterboxResize', scale=img_scale),
    dict(type='PackRefSegInputs'),
]
train_dataloader = dict(
    batch_size=2,
    dataset=dict(sample_unit='ref', pipeline=train_pipeline))
train_cfg = dict(val_interval=None)
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0,
                        end_ratio=1.0, convert_to_iter_based=True)]
default_hooks = dict(checkpoint=dict(iter_interval=3))
'''


def _configs(tmp_path, data_root):
    write_toy_config(str(tmp_path / 'toy.py'), data_root, max_epochs=2)
    base = tmp_path / 'toy_random.py'
    base.write_text(RANDOM_DATA)
    killer = tmp_path / 'toy_killed.py'
    killer.write_text(
        "_base_ = ['./toy_random.py']\n"
        "custom_hooks = [dict(type='ExitAfterIterHook', exit_iter=EXIT)]\n")
    return str(base), str(killer)


def _state(path):
    return load_trusted_checkpoint(str(path))['state_dict']


def test_mid_epoch_kill_and_resume_is_exact(refer_data_root, tmp_path):
    cfg, killer = _configs(tmp_path, refer_data_root)
    straight = tmp_path / 'straight'
    run_tool(['tools/train.py', cfg, '--work-dir', str(straight)])
    ckpts = sorted(p for p in straight.glob('*.pth'))
    assert [p.name for p in ckpts] == ['epoch_1.pth', 'epoch_2.pth']

    # an epoch of the toy train split is several batches: exit after
    # iteration 7 of epoch 2, whose rolling checkpoint is iter_N.pth
    first = load_trusted_checkpoint(str(straight / 'epoch_1.pth'))
    per_epoch = first['meta']['iter']
    assert per_epoch >= 5, per_epoch
    exit_iter = per_epoch + 4
    text = open(killer).read().replace('EXIT', str(exit_iter))
    with open(killer, 'w') as f:
        f.write(text)
    killed = tmp_path / 'killed'
    proc = run_tool(['tools/train.py', killer, '--work-dir', str(killed)],
                    check=False)
    assert proc.returncode == 3, proc.stderr[-3000:]
    last = open(killed / 'last_checkpoint').read().strip()
    saved = (exit_iter // 3) * 3
    assert osp.basename(last) == f'iter_{saved}.pth', last
    assert saved > per_epoch  # a mid-epoch checkpoint of epoch 2

    resumed = run_tool(['tools/train.py', cfg, '--work-dir', str(killed),
                        '--resume'])
    log = resumed.stdout + resumed.stderr
    assert f'after batch {saved - per_epoch} of {per_epoch}' in log
    a, b = _state(straight / 'epoch_2.pth'), _state(killed / 'epoch_2.pth')
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    # the rolling checkpoint is gone once the epoch's checkpoint exists
    assert not list(killed.glob('iter_*.pth'))


def test_resume_without_checkpoint_warns(refer_data_root, tmp_path):
    cfg = write_toy_config(str(tmp_path / 'toy.py'), refer_data_root,
                           max_epochs=1)
    proc = run_tool(['tools/train.py', cfg, '--work-dir',
                     str(tmp_path / 'empty'), '--resume'])
    log = proc.stdout + proc.stderr
    assert '--resume: no checkpoint in the work dir' in log
    assert 'starting a new run at epoch 1' in log
    assert 'latest checkpoint None' not in log
