"""Tests of LetterboxResize, RefResize and mmseg's Resize in mmris."""
import mmcv
import numpy as np
import pytest

from mmris.datasets.transforms import (LetterboxResize, RefResize,
                                       letterbox_geometry)
from mmris.registry import TRANSFORMS


def _sample(h, w, box=None):
    img = np.random.RandomState(0).randint(0, 256, (h, w, 3), np.uint8)
    mask = np.zeros((h, w), np.uint8)
    if box is not None:
        r0, r1, c0, c1 = box
        mask[r0:r1, c0:c1] = 1
    return dict(
        img=img,
        img_shape=(h, w),
        ori_shape=(h, w),
        gt_seg_map=mask,
        seg_fields=['gt_seg_map'])


@pytest.mark.parametrize('ori, scale, new, pad', [
    ((52, 104), (416, 416), (208, 416), (0, 0, 104, 104)),
    ((104, 52), (416, 416), (416, 208), (104, 104, 0, 0)),
    ((50, 50), (200, 300), (200, 200), (50, 50, 0, 0)),
    ((10, 7), (416, 416), (416, 291), (62, 63, 0, 0)),
    ((416, 416), (416, 416), (416, 416), (0, 0, 0, 0)),
    ((1000, 3), (64, 64), (64, 1), (31, 32, 0, 0)),
])
def test_letterbox_geometry(ori, scale, new, pad):
    got_new, got_pad = letterbox_geometry(ori, scale)
    assert got_new == new and got_pad == pad
    assert all(isinstance(p, int) for p in got_pad)
    assert got_new[1] + got_pad[0] + got_pad[1] == scale[1]
    assert got_new[0] + got_pad[2] + got_pad[3] == scale[0]


@pytest.mark.parametrize('h, w', [(40, 60), (60, 40), (37, 91), (416, 100),
                                  (500, 640), (3, 2)])
def test_letterbox_output(h, w):
    results = LetterboxResize(scale=(416, 416))(_sample(h, w, (1, 2, 0, 2)))
    assert results['img'].shape == (416, 416, 3)
    assert results['img'].dtype == np.uint8
    assert results['gt_seg_map'].shape == (416, 416)
    assert results['gt_seg_map'].dtype == np.uint8
    assert results['img_shape'] == (416, 416)
    assert results['pad_shape'] == (416, 416)
    assert results['ori_shape'] == (h, w)
    assert results['keep_ratio'] is True
    left, right, top, bottom = results['letterbox_padding']
    assert all(isinstance(p, int) and p >= 0 for p in (left, right, top,
                                                        bottom))
    assert min(left + right, top + bottom) == 0  # one side fits exactly
    w_scale, h_scale = results['scale_factor']
    assert w * w_scale == pytest.approx(416 - left - right)
    assert h * h_scale == pytest.approx(416 - top - bottom)


def test_letterbox_pad_values_and_object_position():
    # 52 x 104 -> x4 -> 208 x 416, 104 rows of padding above and below.
    results = _sample(52, 104, box=(10, 20, 30, 50))
    results = LetterboxResize(
        scale=416, pad_val=(1, 2, 3), seg_pad_val=255)(results)
    img, seg = results['img'], results['gt_seg_map']
    assert results['letterbox_padding'] == (0, 0, 104, 104)
    pad = np.broadcast_to(np.array([1, 2, 3], np.uint8), (104, 416, 3))
    np.testing.assert_array_equal(img[:104], pad)  # pad_val in BGR order
    np.testing.assert_array_equal(img[-104:], pad)
    assert (seg[:104] == 255).all() and (seg[-104:] == 255).all()
    expected = np.zeros((208, 416), np.uint8)
    expected[40:80, 120:200] = 1
    np.testing.assert_array_equal(seg[104:312], expected)


def test_letterbox_scale_is_h_w():
    results = LetterboxResize(scale=(200, 300))(_sample(50, 50, (0, 50, 0,
                                                                 10)))
    assert results['img'].shape == (200, 300, 3)
    assert results['letterbox_padding'] == (50, 50, 0, 0)
    seg = results['gt_seg_map']
    assert seg[:, :50].sum() == 0  # left padding is background
    assert seg[:, 50:90].all()  # object: first 10 columns x 4


@pytest.mark.parametrize('ori, scale', [((52, 104), (416, 416)),
                                        ((50, 50), (200, 300)),
                                        ((30, 20), (90, 90)),
                                        ((13, 41), (52, 205))])
def test_letterbox_undo_reproduces_mask(ori, scale):
    """Crop the letterbox padding and resize back: exact for integer
    scales (what the segmentor does to the prediction)."""
    rng = np.random.RandomState(1)
    results = _sample(*ori)
    results['gt_seg_map'] = (rng.rand(*ori) > 0.5).astype(np.uint8)
    original = results['gt_seg_map'].copy()
    results = LetterboxResize(scale=scale)(results)
    left, right, top, bottom = results['letterbox_padding']
    out_h, out_w = results['img_shape']
    crop = results['gt_seg_map'][top:out_h - bottom, left:out_w - right]
    back = mmcv.imresize(
        crop, (results['ori_shape'][1], results['ori_shape'][0]),
        interpolation='nearest')
    np.testing.assert_array_equal(back, original)


def test_letterbox_without_mask_and_other_seg_fields():
    results = _sample(20, 40)
    del results['gt_seg_map']
    results['seg_fields'] = []
    results = LetterboxResize(scale=(64, 64))(results)
    assert results['img'].shape == (64, 64, 3)
    assert 'gt_seg_map' not in results

    results = _sample(20, 40)
    results['aux_map'] = np.ones((20, 40), np.uint8)
    results['seg_fields'].append('aux_map')
    results = LetterboxResize(scale=(64, 64))(results)
    assert results['aux_map'].shape == (64, 64)


def test_letterbox_gt_not_in_seg_fields_is_resized():
    results = _sample(20, 40, (0, 5, 0, 5))
    results['seg_fields'] = []
    results = LetterboxResize(scale=(64, 64))(results)
    assert results['gt_seg_map'].shape == (64, 64)


def test_letterbox_scalar_pad_and_float_image():
    results = _sample(20, 40)
    results['img'] = results['img'].astype(np.float32)
    results = LetterboxResize(scale=(64, 64), pad_val=7.5)(results)
    assert results['img'].dtype == np.float32
    assert (results['img'][0] == 7.5).all()


@pytest.mark.parametrize('scale', [(0, 416), (416, ), (416.0, 416),
                                   (-1, -1)])
def test_letterbox_bad_scale(scale):
    with pytest.raises(ValueError, match='scale'):
        LetterboxResize(scale=scale)


def test_letterbox_wrong_pad_val_length():
    with pytest.raises(ValueError, match='channels'):
        LetterboxResize(scale=32, pad_val=(1, 2))(_sample(10, 10))


def test_ref_resize_plain():
    results = RefResize(scale=(64, 48), keep_ratio=False)(_sample(
        40, 60, (10, 20, 10, 20)))
    assert results['img'].shape == (48, 64, 3)  # mmcv scale is (w, h)
    assert results['gt_seg_map'].shape == (48, 64)
    assert set(np.unique(results['gt_seg_map'])) == {0, 1}
    assert results['letterbox_padding'] == (0, 0, 0, 0)
    assert results['keep_ratio'] is False
    assert results['scale_factor'] == pytest.approx((64 / 60, 48 / 40))


def test_mmseg_resize_in_pipeline():
    """mmseg's Resize follows seg_fields (set by LoadRefMask) and leaves
    letterbox_padding unset, which means 'no letterbox'."""
    resize = TRANSFORMS.build(
        dict(type='Resize', scale=(64, 48), keep_ratio=False))
    results = resize(_sample(40, 60, (10, 20, 10, 20)))
    assert results['img'].shape == (48, 64, 3)
    assert results['gt_seg_map'].shape == (48, 64)
    assert 'letterbox_padding' not in results


def test_registry_and_repr():
    t = TRANSFORMS.build(dict(type='LetterboxResize', scale=(32, 48)))
    assert isinstance(t, LetterboxResize) and t.scale == (32, 48)
    assert 'LetterboxResize(scale=(32, 48)' in repr(t)
    assert TRANSFORMS.get('RefResize') is RefResize
