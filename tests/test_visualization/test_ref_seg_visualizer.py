"""Tests of draw_ref_seg, RefSegLocalVisualizer and RefSegVisualizationHook."""
import os.path as osp
from types import SimpleNamespace

import mmris  # noqa: F401  (must precede mmseg imports)
import mmcv
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmris.engine import RefSegVisualizationHook
from mmris.registry import HOOKS, VISUALIZERS
from mmris.visualization import draw_ref_seg


def _image(h=40, w=60, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def test_draw_shape_dtype_and_input_untouched():
    image = _image()
    before = image.copy()
    pred = np.zeros((40, 60), dtype=np.uint8)
    pred[10:20, 10:30] = 1
    out = draw_ref_seg(image, pred, gt_mask=pred, text='the red car',
                       iou=0.5)
    assert out.shape == (40, 60, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(image, before)


def test_pred_overlay_changes_only_masked_pixels():
    image = _image()
    pred = np.zeros((1, 40, 60), dtype=bool)
    pred[0, 5:25, 20:50] = True
    out = draw_ref_seg(image, pred)
    changed = np.any(out != image, axis=2)
    assert not changed[~pred[0]].any()
    assert changed[pred[0]].mean() > 0.95


def test_gt_contour_drawn_near_gt_boundary():
    image = np.zeros((40, 60, 3), dtype=np.uint8)
    gt = np.zeros((40, 60), dtype=np.uint8)
    gt[10:30, 15:45] = 1
    out = draw_ref_seg(image, None, gt_mask=gt, gt_color=(0, 255, 0))
    changed = np.any(out != image, axis=2)
    assert changed.any()
    ys, xs = np.nonzero(changed)
    # the contour hugs the box (thickness 2 -> at most 1 px outside)
    assert ys.min() >= 9 and ys.max() <= 30
    assert xs.min() >= 14 and xs.max() <= 45
    assert not changed[15:25, 20:40].any()  # interior untouched
    assert (out[changed][:, 1] == 255).all()


def test_text_band_at_top_and_non_ascii():
    image = np.full((80, 200, 3), 200, dtype=np.uint8)
    out = draw_ref_seg(image, np.zeros((80, 200)), text='la pomme à gauche',
                       iou=0.75)
    changed = np.any(out != image, axis=2)
    rows = np.nonzero(changed.any(axis=1))[0]
    assert rows.min() == 0 and rows.max() < 60
    assert not changed[-10:].any()


def test_grayscale_image_and_size_check():
    gray = np.zeros((10, 12), dtype=np.uint8)
    out = draw_ref_seg(gray, np.ones((10, 12)))
    assert out.shape == (10, 12, 3)
    with pytest.raises(ValueError, match='pred_mask'):
        draw_ref_seg(gray, np.ones((12, 10)))


def _output(img_path, pred, gt, **meta):
    sample = SegDataSample(metainfo=dict(img_path=img_path, **meta))
    sample.pred_sem_seg = PixelData(data=torch.as_tensor(pred)[None])
    if gt is not None:
        sample.gt_sem_seg = PixelData(data=torch.as_tensor(gt)[None])
    return sample


@pytest.fixture
def image_file(tmp_path):
    path = str(tmp_path / 'img.jpg')
    mmcv.imwrite(_image(30, 40), path)
    return path


def test_hook_writes_files(tmp_path, image_file):
    runner = SimpleNamespace(work_dir=str(tmp_path), timestamp='ts')
    hook = HOOKS.build(
        dict(type='RefSegVisualizationHook', draw=True, show_dir='vis'))
    assert isinstance(hook, RefSegVisualizationHook)
    pred = torch.zeros(30, 40, dtype=torch.long)
    pred[5:15, 5:20] = 1
    outputs = [
        _output(image_file, pred, pred.to(torch.uint8), text='left dog',
                split='refcoco_val', ref_id=3, sent_id=9),
        _output(image_file, pred, None, text='x', ref_id=4, sent_id=1),
    ]
    hook.before_test(runner)
    hook.after_test_iter(runner, 0, {}, outputs)
    first = tmp_path / 'vis' / 'refcoco_val' / '3_9.jpg'
    second = tmp_path / 'vis' / 'default' / '4_1.jpg'
    assert first.is_file() and second.is_file()
    assert mmcv.imread(str(first)).shape == (30, 40, 3)


def test_hook_draw_false_interval_max_samples(tmp_path, image_file):
    runner = SimpleNamespace(work_dir=str(tmp_path), timestamp='ts')
    pred = torch.ones(30, 40, dtype=torch.long)
    outputs = [
        _output(image_file, pred, None, ref_id=i, sent_id=0)
        for i in range(3)
    ]

    hook = RefSegVisualizationHook(draw=False, show_dir='a')
    hook.before_test(runner)
    hook.after_test_iter(runner, 0, {}, outputs)
    assert not (tmp_path / 'a').exists()

    hook = RefSegVisualizationHook(
        draw=True, interval=2, max_samples=4, show_dir='b')
    hook.before_test(runner)
    for batch_idx in range(4):  # batches 1 and 3 are drawn
        batch = [
            _output(image_file, pred, None, ref_id=batch_idx, sent_id=i)
            for i in range(3)
        ]
        hook.after_test_iter(runner, batch_idx, {}, batch)
    files = sorted(p.name for p in (tmp_path / 'b' / 'default').iterdir())
    assert files == ['1_0.jpg', '1_1.jpg', '1_2.jpg', '3_0.jpg']


def test_hook_default_and_absolute_dirs(tmp_path, image_file):
    runner = SimpleNamespace(work_dir=str(tmp_path / 'work'), timestamp='ts')
    pred = torch.ones(30, 40, dtype=torch.long)
    out = [_output(image_file, pred, None, ref_id=1, sent_id=2)]

    hook = RefSegVisualizationHook(draw=True)
    hook.before_test(runner)
    hook.after_test_iter(runner, 0, {}, out)
    assert (tmp_path / 'work' / 'ts' / 'vis' / 'default' / '1_2.jpg').is_file()

    absolute = str(tmp_path / 'abs')
    hook = RefSegVisualizationHook(draw=True, show_dir=absolute)
    hook.before_test(runner)
    hook.after_test_iter(runner, 0, {}, out)
    assert osp.isfile(osp.join(absolute, 'default', '1_2.jpg'))


def test_local_visualizer(tmp_path):
    vis = VISUALIZERS.build(
        dict(type='RefSegLocalVisualizer', name='ris_vis_test'))
    sample = _output('unused.jpg', torch.ones(30, 40, dtype=torch.long),
                     torch.ones(30, 40, dtype=torch.uint8), text='a cat')
    out_file = str(tmp_path / 'v.jpg')
    vis.add_datasample('x', _image(30, 40), sample, out_file=out_file)
    assert mmcv.imread(out_file).shape == (30, 40, 3)
    assert vis.get_image().shape == (30, 40, 3)


def test_hook_show_without_show_dir_only_displays(tmp_path, image_file,
                                                  monkeypatch):
    shown = []
    monkeypatch.setattr(mmcv, 'imshow', lambda img, win, wait: shown.append(
        (img.shape, win, wait)))
    runner = SimpleNamespace(work_dir=str(tmp_path), timestamp='ts')
    out = [
        _output(image_file, torch.ones(30, 40, dtype=torch.long), None,
                ref_id=1, sent_id=2, split='s')
    ]
    hook = RefSegVisualizationHook(draw=True, show=True, wait_time=0.5)
    hook.before_test(runner)
    hook.after_test_iter(runner, 0, {}, out)
    assert shown == [((30, 40, 3), 's/1_2', 500)]
    assert not (tmp_path / 'ts').exists()
