"""tools/test.py's strict loading and partial results, --cfg-options key
checks, schedules relative to max_epochs, and the analysis tools, each run
as a subprocess on a small config."""
import json
import os.path as osp

import pytest
import torch

import mmris  # noqa: F401
from e2e_utils import REPO, run_tool, write_toy_config
from mmris.apis import init_model
from mmris.testing import make_refer_data_root


@pytest.fixture(scope='module')
def toy(refer_data_root, tmp_path_factory):
    work = tmp_path_factory.mktemp('tools')
    cfg = write_toy_config(str(work / 'toy.py'), refer_data_root,
                           test_on_val=True)
    torch.manual_seed(0)
    model = init_model(cfg)
    ckpt = str(work / 'toy.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    wide = write_toy_config(str(work / 'wide.py'), refer_data_root,
                            test_on_val=True)
    with open(wide, 'a') as f:
        f.write("model.update(backbone=dict(type='ToyVLBackbone', "
                "channels=(8, 24), text_dims=16))\n"
                "model['decode_head']['in_channels'] = 24\n")
    return dict(cfg=cfg, ckpt=ckpt, wide=wide, work=work)


def test_test_py_is_strict_unless_told(toy, tmp_path):
    proc = run_tool(['tools/test.py', toy['wide'], toy['ckpt'],
                     '--work-dir', str(tmp_path / 'a')], check=False)
    assert proc.returncode != 0
    err = proc.stderr
    assert 'CheckpointMismatchError' in err and 'mismatched key(s)' in err
    assert ('stages.1.0.weight: checkpoint (16, 8, 3, 3) vs model '
            '(24, 8, 3, 3)') in err
    assert 'Referring segmentation results' not in proc.stdout
    proc = run_tool(['tools/test.py', toy['wide'], toy['ckpt'],
                     '--work-dir', str(tmp_path / 'b'), '--non-strict'])
    log = proc.stdout + proc.stderr
    assert 'Loading the matching weights only' in log
    assert 'Loads checkpoint by local backend' in log
    assert 'ed_checkpoint' not in log


def test_cfg_options_typo_is_an_error(toy, tmp_path):
    proc = run_tool(['tools/test.py', toy['cfg'], toy['ckpt'],
                     '--cfg-options', 'test_datloader.batch_size=4'],
                    check=False)
    assert proc.returncode != 0
    assert "Did you mean 'test_dataloader'" in proc.stderr
    proc = run_tool(['tools/train.py', toy['cfg'], '--work-dir',
                     str(tmp_path / 't'), '--cfg-options',
                     'optim_wraper.optimizer.lr=0.1'], check=False)
    assert proc.returncode != 0 and "'optim_wrapper'" in proc.stderr


def test_bad_image_keeps_finished_samples(tmp_path):
    """An undecodable image in the last batch stops tools/test.py with the
    file named; the samples before it are on disk and recompute_metrics
    scores them."""
    summary = make_refer_data_root(str(tmp_path / 'data'), num_images=10,
                                   seed=5)
    root = summary['root']
    # the test set: val + testA + testB of refcoco, in that order
    cfg = write_toy_config(str(tmp_path / 'toy.py'), root)
    torch.manual_seed(0)
    ckpt = str(tmp_path / 'toy.pth')
    torch.save(dict(state_dict=init_model(cfg).state_dict()), ckpt)
    from mmris.datasets import RefCOCODataset
    paths = []
    for split in ('val', 'testA', 'testB'):
        part = RefCOCODataset(data_root=root, split=split, test_mode=True,
                              lazy_init=False)
        paths += [part.get_data_info(i)['img_path'] for i in range(len(part))]
    last = paths[-1]
    first_bad = paths.index(last)
    assert first_bad >= 2, paths  # the data has a few images per split
    with open(last, 'wb') as f:
        f.write(b'not an image at all')
    out = tmp_path / 'out'
    proc = run_tool(['tools/test.py', cfg, ckpt, '--work-dir',
                     str(tmp_path / 'w'), '--out', str(out)], check=False)
    assert proc.returncode != 0
    assert 'cannot decode image' in proc.stderr and last in proc.stderr
    assert 'recompute_metrics.py' in proc.stdout + proc.stderr
    rec = run_tool(['tools/analysis_tools/recompute_metrics.py', str(out),
                    '--json', str(tmp_path / 'm.json')])
    metrics = json.load(open(tmp_path / 'm.json'))
    # batches of 2: every batch before the one with the bad image is kept
    assert metrics['num_samples'] == first_bad // 2 * 2
    assert 'mIoU' in rec.stdout


def test_check_images_fails_before_compute(tmp_path):
    summary = make_refer_data_root(str(tmp_path / 'data'), num_images=4,
                                   seed=6)
    from mmris.datasets import RefCOCODataset
    ds = RefCOCODataset(data_root=summary['root'], split='val',
                        lazy_init=True)
    ds.full_init()
    path = ds.get_data_info(0)['img_path']
    open(path, 'wb').close()
    with pytest.raises(OSError, match='zero bytes'):
        RefCOCODataset(data_root=summary['root'], split='val',
                       check_images=True)


def test_max_epochs_override_keeps_schedule(tmp_path):
    """The tiny config's schedule is relative to max_epochs."""
    from mmengine.config import Config

    from mmris.engine.runner.resumable_loop import resolve_relative_schedule
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'cris',
                                   'cris_tiny_synthetic.py'))
    assert cfg.default_hooks.checkpoint.interval == 1
    for max_epochs in (4, 10):
        scheds = [dict(s) for s in cfg.param_scheduler]
        resolve_relative_schedule(scheds, max_epochs)
        assert scheds[-1]['end'] == max_epochs
    multi = [dict(type='MultiStepLR', milestone_ratios=[0.5, 0.75])]
    resolve_relative_schedule(multi, 8)
    assert multi[0]['milestones'] == [4, 6]


def test_analysis_tools(toy, tmp_path):
    cfg = toy['cfg']
    proc = run_tool(['tools/analysis_tools/get_flops.py', cfg, '--shape',
                     '64', '48', '--text', 'the red one', '--json',
                     str(tmp_path / 'flops.json')])
    flops = json.load(open(tmp_path / 'flops.json'))
    assert flops['flops'] > 0 and flops['params'] > 0
    assert flops['input_shape'][1:] == [3, 64, 64]  # letterboxed
    assert 'backbone' in proc.stdout and 'decode_head' in proc.stdout

    run_tool(['tools/analysis_tools/benchmark.py', cfg, '--checkpoint',
              toy['ckpt'], '--device', 'cpu', '--batch-size', '2',
              '--warmup', '1', '--iters', '2', '--json',
              str(tmp_path / 'bench.json')])
    bench = json.load(open(tmp_path / 'bench.json'))
    assert bench['images_per_s'] > 0 and bench['batch_size'] == 2

    proc = run_tool(['tools/misc/print_config.py', cfg, '--cfg-options',
                     'train_cfg.max_epochs=7', '--save-path',
                     str(tmp_path / 'full.py')])
    assert 'max_epochs=7' in proc.stdout.replace(' ', '')
    assert osp.isfile(tmp_path / 'full.py')

    out = tmp_path / 'browse'
    proc = run_tool(['tools/misc/browse_dataset.py', cfg, '--num', '3',
                     '--output-dir', str(out)])
    assert len(list(out.glob('*.png'))) == 3 and str(out) in proc.stdout

    log = tmp_path / 'run' / '20260101_000000' / 'vis_data'
    log.mkdir(parents=True)
    with open(log / 'scalars.json', 'w') as f:
        for it in range(1, 6):
            f.write(json.dumps(dict(loss=1.0 / it, lr=0.1, iter=it,
                                    step=it, epoch=1)) + '\n')
        f.write(json.dumps(dict(mIoU=40.0, oIoU=42.0, step=1)) + '\n')
    png = tmp_path / 'curves.png'
    run_tool(['tools/analysis_tools/analyze_logs.py', str(tmp_path / 'run'),
              '--out', str(png)])
    assert png.stat().st_size > 1000
    proc = run_tool(['tools/analysis_tools/analyze_logs.py',
                     str(tmp_path / 'run'), '--keys', 'acc'], check=False)
    assert proc.returncode != 0 and 'known keys' in proc.stderr
