"""Smoke tests of the speed benchmarks at a tiny size: they run, print a
table and write JSON with the figures the README quotes."""
import importlib.util
import json
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _tool(name):
    path = osp.join(REPO, 'tools', 'analysis_tools', f'{name}.py')
    spec = importlib.util.spec_from_file_location(f'_bench_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_metric(tmp_path, capsys):
    out = str(tmp_path / 'metric.json')
    result = _tool('benchmark_metric').main([
        '--height', '24', '--width', '32', '--num-samples', '6',
        '--batch-size', '4', '--repeat', '1', '--device', 'cpu', '--json',
        out
    ])
    assert '| inputs | ms/sample | floor ms | ratio |' in capsys.readouterr().out
    with open(out) as f:
        saved = json.load(f)
    assert saved['floor_ms'] > 0 and len(saved['variants']) == 2
    for variant in saved['variants'].values():
        assert variant['ratio_to_floor'] == pytest.approx(
            variant['ms_per_sample'] / saved['floor_ms'])
    assert result['num_samples'] == 6


def test_benchmark_optimizer(tmp_path, capsys):
    out = str(tmp_path / 'optim.json')
    config = osp.join(REPO, 'configs', 'cris', 'cris_tiny_synthetic.py')
    result = _tool('benchmark_optimizer').main([
        config, '--repeat', '1', '--number', '2', '--json', out,
        '--cfg-options', 'optim_wrapper.paramwise_cfg.custom_keys.backbone'
        '.lr_mult=0.1', 'optim_wrapper.paramwise_cfg.custom_keys.'
        'positional_embedding.lr_mult=1.0'
    ])
    assert 'speed-up' in capsys.readouterr().out
    with open(out) as f:
        saved = json.load(f)
    # backbone at 0.1x, its positional embeddings at 1.0x (a group of its
    # own: it carries lr_mult), everything else at the optimizer defaults
    assert saved['grouped']['groups'] == 3
    assert saved['per_tensor']['groups'] == saved['per_tensor']['tensors']
    assert saved['grouped']['tensors'] == saved['per_tensor']['tensors'] > 2
    assert result['speedup'] > 0


def test_benchmark_dataset(tmp_path, capsys):
    out = str(tmp_path / 'dataset.json')
    root = str(tmp_path / 'root')
    result = _tool('benchmark_dataset').main(
        [root, '--generate', '0.002', '--repeat', '1', '--json', out])
    assert 'pickle+json floor s' in capsys.readouterr().out
    with open(out) as f:
        saved = json.load(f)
    # 0.2 % of RefCOCO's train split: round(120624 * 0.002) sentences
    assert saved['samples'] == result['samples'] == 241
    assert saved['ratio'] == pytest.approx(saved['init_s'] / saved['floor_s'])
    assert saved['pickled_mib'] > 0
