"""Tests of RandomHSV and mmseg's PhotoMetricDistortion in mmris."""
import numpy as np
import pytest

from mmris.datasets.transforms import RandomHSV
from mmris.registry import TRANSFORMS


def test_hsv_changes_image_not_mask(loaded):
    np.random.seed(0)
    img, mask = loaded['img'].copy(), loaded['gt_seg_map'].copy()
    results = RandomHSV(prob=1.0)(loaded)
    assert results['img'].shape == img.shape
    assert results['img'].dtype == np.uint8
    assert not np.array_equal(results['img'], img)
    np.testing.assert_array_equal(results['gt_seg_map'], mask)
    assert results['text'] == 'the red box on the left'


def test_hsv_unit_gains_nearly_identity(image):
    out = RandomHSV.jitter(image, np.ones(3))
    # Only the BGR -> HSV -> BGR round trip error of 8-bit OpenCV remains.
    assert np.abs(out.astype(int) - image.astype(int)).max() <= 8


def test_hsv_value_gain_darkens(image):
    out = RandomHSV.jitter(image, np.array([1.0, 1.0, 0.5]))
    assert out.astype(float).mean() < 0.7 * image.astype(float).mean()


def test_hsv_rgb_order(image):
    rgb = image[..., ::-1].copy()
    gains = np.array([1.2, 0.8, 0.9])
    out_bgr = RandomHSV.jitter(image, gains, 'bgr')
    out_rgb = RandomHSV.jitter(rgb, gains, 'rgb')
    np.testing.assert_array_equal(out_rgb[..., ::-1], out_bgr)


def test_hsv_prob_zero(loaded):
    img = loaded['img'].copy()
    results = RandomHSV(prob=0.0)(loaded)
    np.testing.assert_array_equal(results['img'], img)


def test_hsv_zero_gains(loaded):
    img = loaded['img'].copy()
    out = RandomHSV(hgain=0, sgain=0, vgain=0)(loaded)['img']
    assert np.abs(out.astype(int) - img.astype(int)).max() <= 8


def test_hsv_rejects_float(loaded):
    loaded['img'] = loaded['img'].astype(np.float32)
    with pytest.raises(TypeError, match='uint8'):
        RandomHSV()(loaded)


@pytest.mark.parametrize('kwargs', [dict(hgain=-0.1), dict(prob=1.5),
                                    dict(channel_order='hsv')])
def test_hsv_bad_args(kwargs):
    with pytest.raises(ValueError):
        RandomHSV(**kwargs)


def test_photometric_distortion_reused(loaded):
    np.random.seed(1)
    mask = loaded['gt_seg_map'].copy()
    t = TRANSFORMS.build(dict(type='PhotoMetricDistortion'))
    results = t(loaded)
    assert results['img'].shape == (*mask.shape, 3)
    np.testing.assert_array_equal(results['gt_seg_map'], mask)


def test_registry():
    t = TRANSFORMS.build(dict(type='RandomHSV', hgain=0.1))
    assert isinstance(t, RandomHSV) and t.hgain == 0.1
    assert 'RandomHSV(hgain=0.1' in repr(t)
