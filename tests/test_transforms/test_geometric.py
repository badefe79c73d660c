"""Tests of RandomAffine, including the empty-mask fallback."""
import numpy as np
import pytest

from mmris.datasets.transforms import RandomAffine
from mmris.registry import TRANSFORMS


def _shift(dx, dy):
    m = np.eye(3)
    m[0, 2], m[1, 2] = dx, dy
    return m


def test_affine_shapes_and_values(loaded):
    np.random.seed(0)
    results = RandomAffine()(loaded)
    assert results['img'].shape == (40, 60, 3)
    assert results['img'].dtype == np.uint8
    assert results['gt_seg_map'].shape == (40, 60)
    assert results['gt_seg_map'].dtype == np.uint8
    assert set(np.unique(results['gt_seg_map'])) <= {0, 1}
    assert results['gt_seg_map'].any()
    assert results['affine_matrix'].shape == (3, 3)
    assert results['affine_matrix'].dtype == np.float32


def test_affine_identity_parameters(loaded):
    img, mask = loaded['img'].copy(), loaded['gt_seg_map'].copy()
    t = RandomAffine(
        max_rotate_degree=0,
        max_translate_ratio=0,
        scaling_ratio_range=(1, 1),
        max_shear_degree=0)
    results = t(loaded)
    np.testing.assert_allclose(results['affine_matrix'], np.eye(3),
                               atol=1e-6)
    np.testing.assert_array_equal(results['img'], img)
    np.testing.assert_array_equal(results['gt_seg_map'], mask)


def test_affine_image_and_mask_move_together(loaded):
    """The image of the mask itself, warped bilinearly, matches the mask
    warped with nearest interpolation."""
    np.random.seed(3)
    loaded['img'] = np.repeat(loaded['gt_seg_map'][..., None] * 255, 3, -1)
    results = RandomAffine(max_rotate_degree=20, max_shear_degree=5)(loaded)
    warped_img = results['img'][..., 0] > 127
    seg = results['gt_seg_map'].astype(bool)
    iou = (warped_img & seg).sum() / (warped_img | seg).sum()
    assert iou > 0.85


def test_affine_keeps_object_over_many_draws(mask):
    """Object at the border, aggressive translation: the mask is never
    emptied (a retry or the fallback keeps it)."""
    border = np.zeros_like(mask)
    border[:3, :3] = 1
    t = RandomAffine(max_translate_ratio=0.5, max_retries=3)
    np.random.seed(0)
    skipped = 0
    for _ in range(100):
        results = t(dict(img=np.zeros((*mask.shape, 3), np.uint8),
                         gt_seg_map=border.copy(),
                         seg_fields=['gt_seg_map']))
        assert results['gt_seg_map'].any()
        if np.allclose(results['affine_matrix'], np.eye(3)):
            np.testing.assert_array_equal(results['gt_seg_map'], border)
            skipped += 1
    assert skipped < 100  # most draws are still applied


def test_affine_falls_back_after_max_retries(loaded, monkeypatch):
    img, mask = loaded['img'].copy(), loaded['gt_seg_map'].copy()
    t = RandomAffine(max_retries=4)
    calls = []

    def off_image(height, width):
        calls.append(1)
        return _shift(10 * width, 0)

    monkeypatch.setattr(t, '_random_matrix', off_image)
    results = t(loaded)
    assert len(calls) == 5  # first draw + 4 retries
    np.testing.assert_array_equal(results['img'], img)
    np.testing.assert_array_equal(results['gt_seg_map'], mask)
    np.testing.assert_array_equal(results['affine_matrix'], np.eye(3))


def test_affine_retry_succeeds(loaded, monkeypatch):
    mask = loaded['gt_seg_map'].copy()
    t = RandomAffine(max_retries=10)
    draws = iter([_shift(1000, 0), _shift(0, 1000), _shift(3, 2)])
    monkeypatch.setattr(t, '_random_matrix', lambda h, w: next(draws))
    results = t(loaded)
    np.testing.assert_array_equal(results['affine_matrix'], _shift(3, 2))
    expected = np.zeros_like(mask)
    expected[2:, 3:] = mask[:-2, :-3]
    np.testing.assert_array_equal(results['gt_seg_map'], expected)


def test_affine_empty_annotation_is_augmented(loaded, monkeypatch):
    loaded['gt_seg_map'][:] = 0
    img = loaded['img'].copy()
    t = RandomAffine()
    calls = []

    def draw(height, width):
        calls.append(1)
        return _shift(5, 0)

    monkeypatch.setattr(t, '_random_matrix', draw)
    results = t(loaded)
    assert len(calls) == 1
    assert not results['gt_seg_map'].any()
    assert not np.array_equal(results['img'], img)


def test_affine_border_values(loaded, monkeypatch):
    t = RandomAffine(border_val=(1, 2, 3), seg_border_val=255)
    monkeypatch.setattr(t, '_random_matrix', lambda h, w: _shift(30, 0))
    results = t(loaded)
    np.testing.assert_array_equal(results['img'][:, :30],
                                  np.broadcast_to(np.array([1, 2, 3],
                                                           np.uint8),
                                                  (40, 30, 3)))
    assert (results['gt_seg_map'][:, :30] == 255).all()


def test_affine_prob_zero(loaded):
    img = loaded['img'].copy()
    results = RandomAffine(prob=0.0)(loaded)
    np.testing.assert_array_equal(results['img'], img)


def test_affine_without_mask(image):
    np.random.seed(0)
    results = RandomAffine()(dict(img=image.copy()))
    assert results['img'].shape == image.shape


@pytest.mark.parametrize('kwargs', [
    dict(max_translate_ratio=1.5),
    dict(scaling_ratio_range=(1.1, 0.9)),
    dict(scaling_ratio_range=(0, 1)),
    dict(max_rotate_degree=-1),
    dict(prob=2.0),
    dict(max_retries=-1),
])
def test_affine_bad_args(kwargs):
    with pytest.raises(ValueError, match='RandomAffine'):
        RandomAffine(**kwargs)


def test_registry():
    t = TRANSFORMS.build(dict(type='RandomAffine', max_rotate_degree=3))
    assert isinstance(t, RandomAffine) and t.max_rotate_degree == 3
    assert 'RandomAffine(max_rotate_degree=3' in repr(t)
