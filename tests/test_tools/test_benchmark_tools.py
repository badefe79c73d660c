"""The benchmark tools (tools/analysis_tools/benchmark*.py) at reduced size:
the training benchmark runs the config's optim wrapper through
``train_step``, the inference benchmark ``test_step`` at batch 1 and
batched with masks at the original size, and the public-code benchmark
refuses a missing or wrong checkout (it runs against one only when
``MMRIS_PUBLIC_CRIS`` / ``MMRIS_PUBLIC_ASDA`` name one)."""
import importlib.util
import json
import os
import os.path as osp

import pytest
import torch

import mmris  # noqa: F401
from e2e_utils import REPO, write_toy_config
from mmris.utils import benchmark_utils as bu


def _tool(name):
    path = osp.join(REPO, 'tools', 'analysis_tools', name + '.py')
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def toy_cfg(tmp_path_factory):
    """The toy config (64x64 input) with the shape of the real schedules:
    an AMP wrapper with a loss scale and a backbone lr multiplier."""
    work = tmp_path_factory.mktemp('bench')
    path = write_toy_config(str(work / 'toy.py'), str(work / 'no_data'))
    with open(path, 'a') as f:
        f.write("optim_wrapper = dict(type='AutoAmpOptimWrapper', "
                "loss_scale='dynamic', optimizer=dict(type='Adam', lr=1e-3),"
                " paramwise_cfg=dict(custom_keys={'backbone': "
                "dict(lr_mult=0.1)}))\n")
    return path


def test_train_batch_goes_through_the_train_pipeline(toy_cfg):
    cfg = bu.load_bench_config(toy_cfg)
    batch = bu.make_train_batch(cfg, 3, (48, 80), ('a', 'b'))
    assert len(batch['inputs']) == 3
    assert tuple(batch['inputs'][0].shape) == (3, 64, 64)  # letterboxed
    sample = batch['data_samples'][1]
    mask = sample.gt_sem_seg.data
    assert tuple(mask.shape) == (1, 64, 64)
    # the box covers 45% x 50% of the image; letterboxing keeps the ratio
    frac = mask.float().mean().item()
    assert 0.1 < frac < 0.3
    assert sample.metainfo['text'] == 'b'


def test_optim_wrapper_is_the_configs_at_the_asked_precision(toy_cfg):
    cfg = bu.load_bench_config(toy_cfg)
    model = bu.build_train_model(cfg, 'cpu')
    for amp in ('fp32', 'config'):  # 'config' falls back to fp32 on a CPU
        wrapper = bu.build_bench_optim_wrapper(model, cfg, amp, 'cpu')
        assert type(wrapper).__name__ == 'OptimWrapper'
        lrs = sorted({g['lr'] for g in wrapper.optimizer.param_groups})
        assert lrs == pytest.approx([1e-4, 1e-3])  # paramwise_cfg honoured
    with pytest.raises(ValueError, match='needs a GPU'):
        bu.build_bench_optim_wrapper(model, cfg, 'bf16', 'cpu')
    if torch.cuda.is_available():
        gpu_model = bu.build_train_model(cfg, 'cuda')
        wrapper = bu.build_bench_optim_wrapper(gpu_model, cfg, 'bf16', 'cuda')
        assert type(wrapper).__name__ == 'AmpOptimWrapper'
        assert wrapper.cast_dtype == torch.bfloat16


def test_time_iterations_counts_warmup_apart():
    calls = []
    times = bu.time_iterations(lambda: calls.append(1), 2, 3, 'cpu')
    assert len(calls) == 5
    assert len(times['wall']) == len(times['cpu']) == 3
    assert times['first'] is not None and times['first'] >= 0
    assert bu.time_iterations(lambda: None, 0, 1, 'cpu')['first'] is None
    summary = bu.summarize(dict(wall=[1.0, 4.0, 2.0], cpu=[1, 1, 1],
                                first=None), samples=4)
    assert summary['median_s'] == 2.0 and summary['samples_per_s'] == 2.0


def test_benchmark_train_steps_the_model(toy_cfg, tmp_path):
    tool = _tool('benchmark_train')
    out = str(tmp_path / 'train.json')
    result = tool.main([toy_cfg, '--device', 'cpu', '--batch-size', '2',
                        '--warmup', '1', '--iters', '2', '--threads', '1',
                        '--json', out])
    saved = json.load(open(out))
    assert saved['samples_per_s'] == pytest.approx(result['samples_per_s'])
    assert saved['batch_size'] == 2 and len(saved['iter_s']) == 2
    assert saved['optim_wrapper'] == 'OptimWrapper'
    assert saved['param_groups'] > 1
    assert saved['input_shape'] == [64, 64]
    assert saved['peak_memory_mb'] > 0 and saved['env']['threads'] == 1
    assert torch.isfinite(torch.tensor(saved['last_loss']))
    with pytest.raises(SystemExit):
        tool.parse_args([toy_cfg, '--device', 'cpu', '--amp', 'fp16'])


def test_benchmark_train_updates_parameters(toy_cfg):
    """One timed step is a real optimizer step (the weights move)."""
    cfg = bu.load_bench_config(toy_cfg)
    model = bu.build_train_model(cfg, 'cpu')
    wrapper = bu.build_bench_optim_wrapper(model, cfg, 'config', 'cpu')
    before = {k: v.clone() for k, v in model.named_parameters()}
    model.train_step(bu.make_train_batch(cfg, 2), wrapper)
    moved = [k for k, v in model.named_parameters()
             if not torch.equal(v, before[k])]
    assert len(moved) == len(before)


def test_benchmark_inference_batch1_and_batched(toy_cfg, tmp_path,
                                                capsys):
    tool = _tool('benchmark')
    out = str(tmp_path / 'infer.json')
    tool.main([toy_cfg, '--device', 'cpu', '--batch-size', '3', '--warmup',
               '1', '--iters', '2', '--shape', '48', '80', '--json', out])
    saved = json.load(open(out))
    assert set(saved['runs']) == {'1', '3'}
    for n, run in saved['runs'].items():
        assert run['batch_size'] == int(n)
        assert run['pred_shape'] == [48, 80]  # back to the original size
        assert run['input_shape'] == [64, 64]
        assert len(run['iter_s']) == 2
    assert saved['images_per_s'] == saved['runs']['3']['samples_per_s']
    assert saved['batch1_images_per_s'] > 0
    printed = capsys.readouterr().out
    assert 'batch 1:' in printed and 'batch 3:' in printed
    assert 'thread(s)' in printed and 'load average' in printed


# --- the public-code benchmark ---------------------------------------------


def test_public_benchmark_needs_a_public_root(tmp_path, capsys,
                                             monkeypatch):
    tool = _tool('benchmark_public')
    with pytest.raises(SystemExit):
        tool.parse_args(['cris-r50'])
    err = capsys.readouterr().err
    assert '--public-root is required' in err
    assert 'github.com/DerrickWang005/CRIS.pytorch' in err
    with pytest.raises(FileNotFoundError, match='not a folder'):
        tool.check_public_root(str(tmp_path / 'absent'), 'asda-vitb')
    with pytest.raises(FileNotFoundError,
                       match='no model/model.py: not a checkout of '
                       'https://github.com/swagger-coder/ASDA'):
        tool.check_public_root(str(tmp_path), 'asda-vitb')
    # a "checkout" inside the repository is refused
    monkeypatch.setitem(tool.METHODS['cris-r50'], 'marker',
                        'mmris/__init__.py')
    with pytest.raises(ValueError, match='inside the mmris repository'):
        tool.check_public_root(REPO, 'cris-r50')


_PUBLIC = {'cris-r50': 'MMRIS_PUBLIC_CRIS', 'asda-vitb': 'MMRIS_PUBLIC_ASDA'}


@pytest.mark.full_size
@pytest.mark.parametrize('method', sorted(_PUBLIC))
def test_public_benchmark_runs(method, tmp_path):
    root = os.environ.get(_PUBLIC[method])
    if not root:
        pytest.skip(f'{_PUBLIC[method]} does not name a checkout of the '
                    'public code (it cannot be part of this repository); '
                    'MMRIS_PUBLIC_EXTRA_PATH adds its dependencies')
    extra = [p for p in os.environ.get('MMRIS_PUBLIC_EXTRA_PATH',
                                       '').split(os.pathsep) if p]
    from e2e_utils import run_tool
    out = str(tmp_path / 'public.json')
    run_tool(['tools/analysis_tools/benchmark_public.py', method,
              '--public-root', root, '--batch-size', '1', '--repeats', '1',
              '--device', 'cpu', '--json', out] +
             (['--extra-path'] + extra if extra else []), timeout=900)
    saved = json.load(open(out))
    assert saved['train_ratio'] > 0 and saved['infer_ratio'] > 0
    assert len(saved['wall_s']['public_train']) == 1
