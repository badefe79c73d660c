"""End to end: tools/train.py -> checkpoint -> tools/test.py -> --resume.

Runs the real tools as subprocesses on generated REFER data with the toy
model, on torch >= 2.6 (checkpoints load in weights_only mode).
"""
import glob
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch

from e2e_utils import REPO, run_tool, write_toy_config
from mmris.utils import load_trusted_checkpoint


def _final_scalars(work_dir: str) -> dict:
    """The last line of the scalars log written by the runner."""
    logs = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                     'scalars.json')))
    assert logs, f'no scalars.json in {work_dir}'
    lines = [json.loads(line) for line in open(logs[-1])]
    return lines


@pytest.fixture(scope='module')
def trained(refer_data_root, tmp_path_factory):
    """A toy model trained for 2 epochs with tools/train.py."""
    work = tmp_path_factory.mktemp('train')
    cfg = write_toy_config(str(work / 'toy.py'), refer_data_root)
    run_tool(['tools/train.py', cfg, '--work-dir', str(work / 'run')])
    return cfg, str(work / 'run')


def test_train_saves_checkpoints_and_validates(trained):
    _, work_dir = trained
    assert osp.isfile(osp.join(work_dir, 'epoch_2.pth'))
    assert open(osp.join(work_dir, 'last_checkpoint')).read().strip().endswith(
        'epoch_2.pth')
    scalars = _final_scalars(work_dir)
    val = [s for s in scalars if 'mIoU' in s]
    assert len(val) == 2  # one validation per epoch
    for key in ('oIoU', 'mIoU', 'Prec@0.5', 'Prec@0.9'):
        assert 0.0 <= val[-1][key] <= 100.0
    losses = [s['loss'] for s in scalars if 'loss' in s]
    assert all(l == l for l in losses)  # no NaN


def test_runner_checkpoint_loads_on_torch_2_6_plus(trained):
    """torch >= 2.6 refuses runner checkpoints by default (HistoryBuffer,
    numpy, getattr); mmris' loader of local files loads them."""
    from mmengine.runner.checkpoint import CheckpointLoader
    import mmris  # noqa: F401
    _, work_dir = trained
    path = osp.join(work_dir, 'epoch_2.pth')
    if tuple(int(v) for v in torch.__version__.split('.')[:2]) >= (2, 6):
        import pickle
        with pytest.raises(pickle.UnpicklingError):
            torch.load(path, map_location='cpu')  # the problem mmris fixes
    ckpt = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert {'state_dict', 'optimizer', 'message_hub', 'meta'} <= set(ckpt)


def test_tools_test_reports_every_split_and_writes_outputs(
        trained, refer_data_root, tmp_path):
    cfg, work_dir = trained
    out_dir, show_dir = tmp_path / 'masks', tmp_path / 'vis'
    proc = run_tool([
        'tools/test.py', cfg,
        osp.join(work_dir, 'epoch_2.pth'), '--work-dir',
        str(tmp_path / 'test'), '--out',
        str(out_dir), '--show-dir',
        str(show_dir)
    ])
    log = proc.stdout + proc.stderr
    for split in ('refcoco_val', 'refcoco_testA', 'refcoco_testB'):
        assert f'{split}/oIoU' in log
        assert list((out_dir / split).glob('*.png')), split
        assert list((show_dir / split).glob('*.jpg')), split


def test_killed_run_resumes_and_loses_nothing(refer_data_root, tmp_path):
    """A run killed after a checkpoint and resumed with --resume ends with
    exactly the weights of an uninterrupted run."""
    cfg = write_toy_config(
        str(tmp_path / 'toy.py'), refer_data_root, max_epochs=4)
    straight = tmp_path / 'straight'
    run_tool(['tools/train.py', cfg, '--work-dir', str(straight)])

    killed = tmp_path / 'killed'
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONHASHSEED='0')
    proc = subprocess.Popen(
        [sys.executable, 'tools/train.py', cfg, '--work-dir',
         str(killed)],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if (killed / 'epoch_2.pth').exists():
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    proc.wait(timeout=60)
    assert (killed / 'last_checkpoint').exists()

    resumed = run_tool(
        ['tools/train.py', cfg, '--work-dir',
         str(killed), '--resume'])
    assert 'resumed epoch' in (resumed.stdout + resumed.stderr).lower() \
        or 'Load checkpoint from' in resumed.stdout + resumed.stderr
    a = load_trusted_checkpoint(str(straight / 'epoch_4.pth'))
    b = load_trusted_checkpoint(str(killed / 'epoch_4.pth'))
    assert a['meta']['epoch'] == b['meta']['epoch'] == 4
    for key, value in a['state_dict'].items():
        torch.testing.assert_close(
            b['state_dict'][key], value, rtol=1e-5, atol=1e-6, msg=key)
