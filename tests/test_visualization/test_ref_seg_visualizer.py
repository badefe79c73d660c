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
                       iou=0.5, min_size=60)
    # not enlarged (60 px long side), a caption band below
    assert out.dtype == np.uint8 and out.shape[1] == 60 and out.shape[2] == 3
    assert out.shape[0] > 40
    np.testing.assert_array_equal(image, before)


def test_small_images_are_enlarged_and_caption_is_below():
    image = np.full((96, 96, 3), 90, dtype=np.uint8)
    out = draw_ref_seg(image, None, text='the blue square', iou=0.9)
    assert out.shape[1] == 384  # x4, nearest neighbour
    top = out[:384]
    np.testing.assert_array_equal(top, 90)  # nothing drawn over the image
    band = out[384:]
    assert band.shape[0] > 20
    assert (band == 0).any()  # black text on the white band


def test_prediction_fill_keeps_object_colour():
    """A light fill: a pure green object stays clearly green inside the
    prediction, and only a contour (and the fill) is added."""
    image = np.zeros((100, 100, 3), dtype=np.uint8)
    image[20:80, 20:80] = (0, 200, 0)  # BGR green
    pred = np.zeros((100, 100), dtype=np.uint8)
    pred[20:80, 20:80] = 1
    out = draw_ref_seg(image, pred, min_size=100, legend=False)
    inside = out[40:60, 40:60].reshape(-1, 3).astype(int)
    assert (inside[:, 1] > 150).all()  # green channel dominant
    assert (inside[:, 1] > inside[:, 0] + 100).all()
    assert (inside[:, 1] > inside[:, 2] + 100).all()
    # outside the prediction and its contour, the image is untouched
    np.testing.assert_array_equal(out[:10, :10], image[:10, :10])


def test_gt_contour_is_dashed_black_and_white():
    image = np.full((100, 100, 3), (0, 200, 0), dtype=np.uint8)  # green
    gt = np.zeros((100, 100), dtype=np.uint8)
    gt[20:80, 20:80] = 1
    out = draw_ref_seg(image, None, gt_mask=gt, min_size=100, legend=False)
    changed = np.any(out[:100] != image, axis=2)
    ys, xs = np.nonzero(changed)
    assert ys.min() >= 17 and ys.max() <= 82
    assert not changed[30:70, 30:70].any()  # interior untouched
    colours = {tuple(c) for c in out[:100][changed]}
    assert (255, 255, 255) in colours and (0, 0, 0) in colours


def test_unicode_caption_is_drawn_not_question_marks():
    """Text is drawn with a TrueType font: different non-ASCII words give
    different pixels (cv2's Hershey font drew every one as '?')."""
    image = np.full((96, 96, 3), 200, dtype=np.uint8)
    a = draw_ref_seg(image, None, text='зелёный круг')
    b = draw_ref_seg(image, None, text='красный круг')
    c = draw_ref_seg(image, None, text='??????? ????')
    assert a.shape == b.shape
    assert (a != b).any() and (a != c).any()


def test_legend_and_channel_order():
    image = np.zeros((50, 50, 3), dtype=np.uint8)
    pred = np.ones((50, 50), dtype=np.uint8)
    with_legend = draw_ref_seg(image, pred, gt_mask=pred, min_size=200)
    without = draw_ref_seg(image, pred, gt_mask=pred, min_size=200,
                           legend=False)
    assert with_legend.shape[0] > without.shape[0]
    bgr = draw_ref_seg(image, pred, min_size=50, legend=False)
    rgb = draw_ref_seg(image, pred, min_size=50, legend=False,
                       channel_order='rgb')
    np.testing.assert_array_equal(bgr[..., ::-1], rgb)  # magenta symmetric
    with pytest.raises(ValueError, match='channel_order'):
        draw_ref_seg(image, pred, channel_order='hsv')


def test_grayscale_image_and_size_check():
    gray = np.zeros((10, 12), dtype=np.uint8)
    out = draw_ref_seg(gray, np.ones((10, 12)), min_size=12, legend=False)
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
    drawing = mmcv.imread(str(first))
    assert drawing.shape[1] == 40 * 10 and drawing.shape[0] > 30 * 10


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
    assert mmcv.imread(out_file).shape[1] == 400
    assert vis.get_image().shape[1] == 400


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
    assert len(shown) == 1 and shown[0][1:] == ('s/1_2', 500)
    assert not (tmp_path / 'ts').exists()
