"""Smoke test of tools/analysis_tools/benchmark_pipeline.py at a tiny count."""
import importlib.util
import json
import os.path as osp
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'analysis_tools', 'benchmark_pipeline.py')


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('benchmark_pipeline', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_pipeline_smoke(tool, tmp_path, monkeypatch, capsys):
    out = tmp_path / 'pipeline.json'
    monkeypatch.setattr(sys, 'argv', [
        TOOL, 'configs/cris/cris_r50_8xb8-50e_refcoco-416x416.py',
        'configs/asda/asda_vitb_refcoco.py', '--num-images', '2',
        '--samples', '2', '--rounds', '2', '--warmup', '1', '--json',
        str(out)
    ])
    tool.main()
    printed = capsys.readouterr().out
    result = json.loads(out.read_text())
    rows = result['rows']
    assert list(rows) == ['floor 416x416', 'cris', 'asda',
                          'asda (separate transforms)']
    for name, row in rows.items():
        assert row['ms_per_sample'] > 0 and len(row['ms_per_round']) == 2
        assert row['samples_per_s'] == pytest.approx(
            1e3 / row['ms_per_sample'])
        assert row['floor'] == 'floor 416x416'
        assert f'| {name}' in printed
    assert rows['floor 416x416']['ratio_to_floor'] == pytest.approx(1.0)
    assert rows['asda']['transforms'] == [
        'LoadRefImageFromFile', 'LoadRefMask', 'RandomAffineLetterbox',
        'PackRefSegInputs'
    ]
    assert set(rows['asda (separate transforms)']['ms_per_transform']) >= {
        'RandomFlipText', 'RandomHSV', 'LetterboxResize', 'RandomAffine'}


def test_separate_steps_mirror_the_fused_step(tool):
    steps = [dict(type='LoadRefImageFromFile'),
             dict(type='RandomAffineLetterbox', scale=(64, 64),
                  pad_val=(1, 2, 3), flip_prob=0.3, hsv_gains=(0.1, 0.2, 0.3),
                  max_rotate_degree=7.0)]
    out = tool.separate_steps(steps)
    assert [s['type'] for s in out] == [
        'LoadRefImageFromFile', 'RandomFlipText', 'RandomHSV',
        'LetterboxResize', 'RandomAffine'
    ]
    assert out[1]['prob'] == 0.3
    assert (out[2]['hgain'], out[2]['sgain'], out[2]['vgain']) == (0.1, 0.2,
                                                                   0.3)
    assert out[3]['scale'] == (64, 64) and out[4]['max_rotate_degree'] == 7.0
    assert out[4]['border_val'] == (1, 2, 3)
    # no flip and no HSV: neither transform
    steps[1].update(flip_prob=0.0, hsv_gains=None)
    assert [s['type'] for s in tool.separate_steps(steps)] == [
        'LoadRefImageFromFile', 'LetterboxResize', 'RandomAffine'
    ]


def test_synthetic_jpegs_have_coco_file_size(tool, tmp_path):
    # decoding must cost what a RefCOCO (COCO train2014) image costs:
    # about 160 KB a 640x480 JPEG on average
    infos = tool.write_images(str(tmp_path), 3, 0)
    sizes = [osp.getsize(i['img_path']) / 1024 for i in infos]
    assert 120 < sum(sizes) / len(sizes) < 200


def test_img_dir_real_jpegs(tool, tmp_path, monkeypatch, capsys):
    import cv2
    import numpy as np
    folder = tmp_path / 'jpegs'
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate([(300, 500), (400, 240)]):
        assert cv2.imwrite(str(folder / f'{i}.jpg'),
                           rng.integers(0, 256, (h, w, 3), np.uint8))
    (folder / 'notes.txt').write_text('not an image')
    out = tmp_path / 'pipeline.json'
    monkeypatch.setattr(sys, 'argv', [
        TOOL, 'configs/asda/asda_vitb_refcoco.py', '--img-dir',
        str(folder), '--samples', '2', '--rounds', '1', '--warmup', '1',
        '--no-separate', '--json', str(out)
    ])
    tool.main()
    result = json.loads(out.read_text())
    assert result['images'] == str(folder) and result['num_images'] == 2
    assert list(result['rows']) == ['floor 416x416', 'asda']
    assert str(folder) in capsys.readouterr().out
    infos = tool.read_images(str(folder), 5, 0)
    assert [(i['ref_mask']['height'], i['ref_mask']['width'])
            for i in infos] == [(300, 500), (400, 240)]
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match='no .jpg'):
        tool.read_images(str(empty), 5, 0)
