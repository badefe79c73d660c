"""tools/train_two_stage.py: stage 1 then stage 2 from stage 1's final
checkpoint, resuming whichever stage was interrupted.

The configs are small children of the shipped RISCLIP-B RefCOCO configs
(small CLIP, 64x64, generated REFER data); everything else (segmentor,
freezing, optimizer, schedule, checkpointing) is the shipped recipe.
"""
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch

from e2e_utils import REPO, run_tool
from mmris.utils import load_trusted_checkpoint

TOOL = 'tools/train_two_stage.py'
SHIPPED = osp.join(REPO, 'configs', 'risclip')

CHILD = '''
_base_ = {base!r}
data_root = {data_root!r}
img_scale = (64, 64)
small_clip = dict(
    embed_dim=64,
    vision_cfg=dict(image_size=32, layers=4, width=96, patch_size=8,
                    head_width=32),
    text_cfg=dict(context_length=77, vocab_size=49408, width=64, heads=2,
                  layers=3))
model = dict(
    data_preprocessor=dict(size=img_scale),
    backbone=dict(model_name=None, model_cfg=small_clip, pretrained=None,
                  img_size=img_scale, context_length=24, num_cfe=2),
    neck=dict(embed_dims=64, num_layers=2, num_heads=2),
    decode_head=dict(in_channels=96, channels=16, output_stride=8))
_pipe_train = [
    dict(type='LoadRefImageFromFile'),
    dict(type='LoadRefMask'),
    dict(type='LetterboxResize', scale=img_scale),
    dict(type='PackRefSegInputs'),
]
_pipe_test = [
    dict(type='LoadRefImageFromFile'),
    dict(type='LetterboxResize', scale=img_scale),
    dict(type='LoadRefMask'),
    dict(type='PackRefSegInputs'),
]
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root,
                                     pipeline=_pipe_train))
val_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=data_root, pipeline=_pipe_test))
test_dataloader = val_dataloader
default_hooks = dict(logger=dict(interval=1))
env_cfg = dict(cudnn_benchmark=False)
'''


def _write(tmp_path, data_root):
    paths = []
    for stage, name in ((1, 'risclip-b_stage1_4xb8-60e_refcoco-640x640.py'),
                        (2, 'risclip-b_stage2_4xb8-1e_refcoco-640x640.py')):
        path = tmp_path / f'stage{stage}.py'
        text = CHILD.format(base=osp.join(SHIPPED, name), data_root=data_root)
        if stage == 1:
            text += 'train_cfg = dict(max_epochs=2)\n'
            text += ('param_scheduler = [dict(type="PolyLR", power=0.9, '
                     'eta_min=0.0, by_epoch=True, begin=0, end=2, '
                     'convert_to_iter_based=True)]\n')
        path.write_text(text)
        paths.append(str(path))
    return paths


def _state(path):
    return load_trusted_checkpoint(path, map_location='cpu')['state_dict']


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    """A data root of its own (not the session's shared one)."""
    from mmris.testing import make_refer_data_root
    root = tmp_path_factory.mktemp('risclip_two_stage_data')
    return make_refer_data_root(str(root), num_images=6, seed=3)['root']


def test_two_stages_resume_and_skip(tmp_path, data_root):
    stage1, stage2 = _write(tmp_path, data_root)
    work = str(tmp_path / 'work')
    # 1) an interrupted run: killed as soon as stage 1 saved epoch 1
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.Popen(
        [sys.executable, TOOL, stage1, stage2, '--work-dir', work],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True)
    marker = osp.join(work, 'stage1', 'last_checkpoint')
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if osp.isfile(marker):
            break
        time.sleep(0.2)
    assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not osp.isdir(osp.join(work, 'stage2'))
    # 2) the same command again: stage 1 continues, stage 2 follows
    out = run_tool([TOOL, stage1, stage2, '--work-dir', work]).stdout
    assert ('resuming stage 1' in out
            or 'stage 1 is complete' in out), out[-2000:]
    assert 'starting stage 2' in out
    final1 = osp.join(work, 'stage1', 'epoch_2.pth')
    final2 = osp.join(work, 'stage2', 'epoch_1.pth')
    assert osp.isfile(final1) and osp.isfile(final2)
    s1, s2 = _state(final1), _state(final2)
    # stage 2 started from stage 1: everything but the decoder is stage 1's
    for key, value in s1.items():
        if key.startswith('decode_head.decoder.'):
            continue
        assert torch.equal(value, s2[key]), key
    assert not torch.equal(s1['decode_head.decoder.cls.weight'],
                           s2['decode_head.decoder.cls.weight'])
    # stage 1 trained the modules around CLIP, not CLIP
    init = _state(osp.join(work, 'stage1', 'epoch_1.pth'))
    assert not torch.equal(init['backbone.cfe.0.s2v.weight'],
                           s1['backbone.cfe.0.s2v.weight'])
    assert torch.equal(init['backbone.conv1.weight'],
                       s1['backbone.conv1.weight'])
    # 3) again: both stages are complete and skipped
    out = run_tool([TOOL, stage1, stage2, '--work-dir', work]).stdout
    assert 'stage 1 is complete' in out and 'stage 2 is complete' in out


def test_interrupted_stage_two_resumes_from_its_own_checkpoint(tmp_path):
    """Stage 2 interrupted: stage 1 is skipped, stage 2 resumes (not a fresh
    start from stage 1); a final checkpoint that last_checkpoint does not
    name (cut short by the interruption) does not count."""
    work = tmp_path / 'work'
    s1 = work / 'stage1'
    s2 = work / 'stage2'
    s1.mkdir(parents=True)
    s2.mkdir()
    (s1 / 'epoch_1.pth').write_bytes(b'x')
    (s1 / 'epoch_2.pth').write_bytes(b'x')
    (s1 / 'last_checkpoint').write_text(str(s1 / 'epoch_2.pth'))
    stage1 = osp.join(SHIPPED, 'risclip-b_stage1_4xb8-60e_refcoco-640x640.py')
    stage2 = osp.join(SHIPPED, 'risclip-b_stage2_4xb8-1e_refcoco-640x640.py')
    args = [TOOL, stage1, stage2, '--work-dir', str(work), '--dry-run',
            '--stage1-cfg-options', 'train_cfg.max_epochs=2']
    out = run_tool(args).stdout
    assert 'stage 1 is complete' in out
    assert 'starting stage 2' in out
    assert f'load_from={s1 / "epoch_2.pth"}' in out
    # stage 2 has a checkpoint: resume, no load_from
    (s2 / 'iter_5.pth').write_bytes(b'x')
    (s2 / 'last_checkpoint').write_text(str(s2 / 'iter_5.pth'))
    out = run_tool(args).stdout
    assert 'resuming stage 2' in out and '--resume' in out
    assert 'load_from=' not in out
    # a final file not named by last_checkpoint: stage 1 is not complete
    (s1 / 'last_checkpoint').write_text(str(s1 / 'epoch_1.pth'))
    out = run_tool(args).stdout
    assert 'resuming stage 1' in out
