"""Helpers of the end-to-end tests: a toy config on generated REFER data."""
import os
import os.path as osp
import subprocess
import sys
from typing import Dict, List, Optional

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

TOY_CONFIG = '''
_base_ = [{runtime!r}]
custom_imports = dict(imports=['mmris.testing'], allow_failed_imports=False)
data_root = {data_root!r}
img_scale = (64, 64)
train_pipeline = [
    dict(type='LoadRefImageFromFile'),
    dict(type='LoadRefMask'),
    dict(type='LetterboxResize', scale=img_scale),
    dict(type='PackRefSegInputs'),
]
test_pipeline = [
    dict(type='LoadRefImageFromFile'),
    dict(type='LetterboxResize', scale=img_scale),
    dict(type='LoadRefMask'),
    dict(type='PackRefSegInputs'),
]
train_dataloader = dict(
    batch_size={batch_size}, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='RefCOCODataset', data_root=data_root,
                 dataset='refcoco', split='train', sample_unit='sentence',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='RefCOCODataset', data_root=data_root,
                 dataset='refcoco', split='val', test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=2, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ConcatDataset', datasets=[
        dict(type='RefCOCODataset', data_root=data_root, dataset='refcoco',
             split=split, test_mode=True, pipeline=test_pipeline)
        for split in ['val', 'testA', 'testB']]))
val_evaluator = dict(type='RefSegMetric')
test_evaluator = val_evaluator
model = dict(
    type='RefSegmentor',
    data_preprocessor=dict(
        type='SegDataPreProcessor', mean=[122.7, 116.7, 104.0],
        std=[68.5, 66.6, 70.7], bgr_to_rgb=True, size=img_scale),
    backbone=dict(type='ToyVLBackbone', channels=(8, 16), text_dims=16),
    decode_head=dict(type='ToyRISHead', in_channels=16, text_dims=16,
                     channels=16,
                     loss_decode=[dict(type='MaskBCELoss'),
                                  dict(type='MaskDiceLoss')]),
    test_cfg=dict(threshold=0.35))
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='Adam', lr=1e-3))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[2],
                        gamma=0.1)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs={max_epochs},
                 val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(max_keep_ckpts=10))
env_cfg = dict(cudnn_benchmark=False)
'''

VAL_AS_TEST = '''
test_dataloader = val_dataloader
'''


def write_toy_config(path: str, data_root: str, batch_size: int = 4,
                     max_epochs: int = 2, test_on_val: bool = False) -> str:
    """Write the toy config to ``path`` and return it.

    ``test_on_val`` makes the test set the val split alone.
    """
    runtime = osp.join(REPO, 'configs', '_base_', 'default_runtime.py')
    with open(path, 'w') as f:
        f.write(
            TOY_CONFIG.format(
                runtime=runtime,
                data_root=data_root,
                batch_size=batch_size,
                max_epochs=max_epochs))
        if test_on_val:
            f.write(VAL_AS_TEST)
    return path


def read_test_metrics(work_dir: str) -> dict:
    """Metrics that tools/test.py wrote to ``work_dir/<time>/<time>.json``."""
    import glob
    import json
    files = sorted(glob.glob(osp.join(work_dir, '*', '*.json')))
    if not files:
        raise AssertionError(f'no metrics json in {work_dir}')
    return json.load(open(files[-1]))


def run_tool(args: List[str], timeout: int = 600,
             env: Optional[Dict[str, str]] = None,
             check: bool = True) -> subprocess.CompletedProcess:
    """Run a command from the repository root; fail with its output."""
    full_env = dict(os.environ)
    full_env.update({'OMP_NUM_THREADS': '1', 'PYTHONHASHSEED': '0'})
    full_env.update(env or {})
    if args[0].endswith('.py'):
        args = [sys.executable] + args
    proc = subprocess.run(
        args, cwd=REPO, env=full_env, capture_output=True, text=True,
        timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(
            f'{" ".join(args)} exited {proc.returncode}\n'
            f'--- stdout ---\n{proc.stdout[-6000:]}\n'
            f'--- stderr ---\n{proc.stderr[-6000:]}')
    return proc
