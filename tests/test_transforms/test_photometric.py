"""Tests of RandomHSV and mmseg's PhotoMetricDistortion in mmris."""
import cv2
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


def test_hsv_unit_gains_identity(image):
    # hue gain 1: no 8-bit HSV round trip, so nothing changes
    np.testing.assert_array_equal(RandomHSV.jitter(image, np.ones(3)), image)
    # a hue change goes through the round trip: its error stays small
    out = RandomHSV.jitter(image, np.array([1.0 + 1e-9, 1.0, 1.0]))
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
    np.testing.assert_array_equal(out, img)


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


@pytest.mark.parametrize('gain', [0.5, 0.83, 1.0, 1.27, 1.5])
def test_value_only_jitter_keeps_hue_and_saturation(image, gain):
    # hue and saturation gains of 1 take the value-only path: V' from the
    # same truncating table, every channel scaled by V' / V (hand formula)
    img = image.astype(np.float64)
    value = img.max(axis=2)
    table = np.clip(np.arange(256) * gain, 0, 255).astype(np.uint8)
    new_value = table[value.astype(np.uint8)].astype(np.float64)
    expected = img * (new_value / np.maximum(value, 1))[..., None]
    out = RandomHSV.jitter(image, np.array([1.0, 1.0, gain]))
    assert out.dtype == np.uint8 and out.shape == image.shape
    assert np.abs(out - expected).max() <= 0.5 + 1e-6
    np.testing.assert_array_equal(out.max(axis=2), new_value)
    # a 4-channel input gives the same 3 channels
    bgra = np.concatenate([image, np.full_like(image[..., :1], 7)], -1)
    np.testing.assert_array_equal(RandomHSV.jitter(bgra, np.array(
        [1.0, 1.0, gain])), out)


def test_value_only_jitter_close_to_hsv_round_trip(image):
    # the 8-bit HSV round trip (hue in 180 levels) lands within a few levels
    # of the exact value-only result
    gain = 1.3
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    table = np.clip(np.arange(256) * gain, 0, 255).astype(np.uint8)
    hsv[..., 2] = table[hsv[..., 2]]
    round_trip = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR).astype(int)
    out = RandomHSV.jitter(image, np.array([1.0, 1.0, gain])).astype(int)
    diff = np.abs(out - round_trip)
    assert diff.max() <= 8 and diff.mean() < 1.0


def test_value_only_transform_changes_brightness_not_hue(loaded):
    np.random.seed(3)
    img = loaded['img'].copy()
    out = RandomHSV(hgain=0.0, sgain=0.0, vgain=0.5)(loaded)['img']
    hue_in = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)[..., 0].astype(int)
    hue_out = cv2.cvtColor(out, cv2.COLOR_BGR2HSV)[..., 0].astype(int)
    bright = img.max(axis=2) > 40
    assert not np.array_equal(out, img)
    # hue (0-179, circular) kept up to 8-bit rounding on bright pixels
    dh = np.abs(hue_in - hue_out)[bright]
    assert np.minimum(dh, 180 - dh).max() <= 2


@pytest.mark.parametrize('gain', [0.5, 0.9, 1.3])
def test_saturation_only_jitter_keeps_hue_and_value(image, gain):
    img = image.astype(np.float64)
    value, low = img.max(axis=2), img.min(axis=2)
    # 8-bit S as OpenCV's HSV conversion rounds it
    sat = cv2.divide(image.max(axis=2) - image.min(axis=2),
                     image.max(axis=2), scale=255).astype(np.float64)
    table = np.clip(np.arange(256) * gain, 0, 255).astype(np.uint8)
    ratio = table[sat.astype(np.uint8)] / np.maximum(sat, 1)
    expected = value[..., None] - (value[..., None] - img) * ratio[..., None]
    out = RandomHSV.jitter(image, np.array([1.0, gain, 1.0]))
    assert np.abs(out - np.clip(expected, 0, 255)).max() <= 0.5 + 1e-3
    np.testing.assert_array_equal(out.max(axis=2), image.max(axis=2))
    # within a few levels of the 8-bit HSV round trip
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    hsv[..., 1] = table[hsv[..., 1]]
    round_trip = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR).astype(int)
    diff = np.abs(out.astype(int) - round_trip)
    assert diff.max() <= 8 and diff.mean() < 1.0
    assert low.shape == out.shape[:2]


def test_saturation_then_value(image):
    both = RandomHSV.jitter(image, np.array([1.0, 0.7, 1.2]))
    steps = RandomHSV.scale_value(RandomHSV.scale_saturation(image, 0.7),
                                  1.2)
    np.testing.assert_array_equal(both, steps)
    # unit gains: an unchanged copy
    same = RandomHSV.jitter(image, np.ones(3))
    np.testing.assert_array_equal(same, image)
    assert same is not image
