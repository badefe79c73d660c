"""tools/dist_train.sh with 2 CPU processes (gloo) against one process."""
import json
import os.path as osp
import glob

import pytest

from e2e_utils import run_tool, read_test_metrics, write_toy_config


def _val_metrics(work_dir: str) -> list:
    logs = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                     'scalars.json')))
    assert logs, f'no scalars.json in {work_dir}'
    return [json.loads(l) for l in open(logs[-1]) if 'mIoU' in l]


def test_dist_train_two_processes_matches_one(refer_data_root, tmp_path):
    """2 processes x batch 2 train the same model as 1 process x batch 4
    (GroupNorm toy model, no augmentation), and the DDP-gathered validation
    gives the metric a single-process tools/test.py run gives."""
    one = tmp_path / 'one'
    cfg1 = write_toy_config(str(tmp_path / 'one.py'), refer_data_root,
                            batch_size=4)
    run_tool(['tools/train.py', cfg1, '--work-dir', str(one)])

    two = tmp_path / 'two'
    cfg2 = write_toy_config(str(tmp_path / 'two.py'), refer_data_root,
                            batch_size=2)
    proc = run_tool(['bash', 'tools/dist_train.sh', cfg2, '2', '--work-dir',
                     str(two)], env={'PORT': '29517'})
    assert 'gloo' in proc.stdout + proc.stderr or osp.isfile(
        two / 'epoch_2.pth')

    m1, m2 = _val_metrics(str(one)), _val_metrics(str(two))
    assert len(m1) == len(m2) == 2
    for key in ('oIoU', 'mIoU', 'Prec@0.5'):
        assert m2[-1][key] == pytest.approx(m1[-1][key], abs=0.5), key

    # the DDP evaluation (2 ranks, padded sampler) equals one process
    cfg_val = write_toy_config(str(tmp_path / 'val.py'), refer_data_root,
                               test_on_val=True)
    run_tool(['tools/test.py', cfg_val, str(two / 'epoch_2.pth'),
              '--work-dir', str(tmp_path / 'test')])
    single = read_test_metrics(str(tmp_path / 'test'))
    for key in ('oIoU', 'mIoU', 'Prec@0.5', 'Prec@0.9'):
        assert single[key] == pytest.approx(m2[-1][key], abs=1e-6), key

    # tools/dist_test.sh with 2 processes: same numbers, every split
    cfg_all = write_toy_config(str(tmp_path / 'all.py'), refer_data_root)
    run_tool(['tools/test.py', cfg_all, str(two / 'epoch_2.pth'),
              '--work-dir', str(tmp_path / 'test_one')])
    run_tool(['bash', 'tools/dist_test.sh', cfg_all, str(two / 'epoch_2.pth'),
              '2', '--work-dir', str(tmp_path / 'test_two')],
             env={'PORT': '29518'})
    one_proc = read_test_metrics(str(tmp_path / 'test_one'))
    two_proc = read_test_metrics(str(tmp_path / 'test_two'))
    assert any(k.startswith('refcoco_testB/') for k in one_proc)
    for key, value in one_proc.items():
        if '/' in key:
            assert two_proc[key] == pytest.approx(value, abs=1e-6), key
