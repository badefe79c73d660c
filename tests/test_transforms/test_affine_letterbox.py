"""RandomAffineLetterbox against the separate transforms it replaces."""
import os.path as osp

import cv2
import numpy as np
import pytest
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmris.datasets.transforms import (LetterboxResize, RandomAffine,
                                       RandomAffineLetterbox, RandomFlipText,
                                       RandomHSV, flip_letterbox_matrix)

PAD = (104.09, 116.75, 122.77)
H, W = 120, 160  # 4:3 like COCO; letterboxed to 104 -> 104x78, pad 13 + 13


def smooth_image(h=H, w=W):
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([xs * 200 / w + 20, ys * 180 / h + 30,
                    (xs + ys) * 100 / (h + w) + 60], -1)
    return img.astype(np.uint8)


def object_mask(h=H, w=W):
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [np.array([[20, 30], [70, 25], [60, 90], [25, 80]])],
                 1)
    return mask


def loaded(img=None, mask=None, text='the dog on the left'):
    img = smooth_image() if img is None else img
    mask = object_mask() if mask is None else mask
    return dict(img=img.copy(), gt_seg_map=mask.copy(),
                seg_fields=['gt_seg_map'], img_shape=img.shape[:2],
                ori_shape=img.shape[:2], text=text, img_path='x.png')


def boundary(mask):
    """Pixels within one pixel of the mask's boundary."""
    kernel = np.ones((3, 3), np.uint8)
    return cv2.dilate(mask, kernel) != cv2.erode(mask, kernel)


def separate(results, flip, scale=(104, 104)):
    if flip:
        results = RandomFlipText(prob=1.0)(results)
    return LetterboxResize(scale=scale, pad_val=PAD)(results)


@pytest.mark.parametrize('flip', [False, True])
def test_no_affine_equals_flip_then_letterbox(flip):
    fused = RandomAffineLetterbox(
        scale=(104, 104), pad_val=PAD, flip_prob=float(flip),
        affine_prob=0.0)(loaded())
    ref = separate(loaded(), flip)
    diff = np.abs(fused['img'].astype(int) - ref['img'])
    assert diff.max() <= 1, diff.max()
    # masks: the same but on the object's boundary (pixel-centre nearest
    # instead of cv2.resize's floor)
    differ = fused['gt_seg_map'] != ref['gt_seg_map']
    assert not (differ & ~boundary(ref['gt_seg_map'])).any()
    a, b = fused['gt_seg_map'].astype(bool), ref['gt_seg_map'].astype(bool)
    assert (a & b).sum() / (a | b).sum() > 0.9
    for key in ('img_shape', 'pad_shape', 'scale_factor', 'keep_ratio',
                'letterbox_padding', 'text'):
        assert fused[key] == ref[key], key
    assert fused['letterbox_padding'] == (0, 0, 13, 13)
    assert fused['flip'] is flip
    assert fused['flip_direction'] == ('horizontal' if flip else None)
    assert fused['text'] == ('the dog on the right'
                             if flip else 'the dog on the left')
    np.testing.assert_array_equal(fused['affine_matrix'], np.eye(3))
    assert fused['gt_seg_map'].dtype == np.uint8
    # the padding is exactly the fill colour
    np.testing.assert_array_equal(fused['img'][:13],
                                  np.broadcast_to(np.uint8([104, 117, 123]),
                                                  (13, 104, 3)))


@pytest.mark.parametrize('flip', [False, True])
def test_prediction_maps_back_to_the_original(flip):
    """What the segmentor does with the meta recovers the input mask."""
    mask = object_mask()
    init_default_scope('mmris')
    packed = Compose([
        dict(type='RandomAffineLetterbox', scale=(104, 104), pad_val=PAD,
             flip_prob=float(flip), affine_prob=0.0),
        dict(type='PackRefSegInputs')
    ])(loaded(mask=mask))
    ds = packed['data_samples']
    left, right, top, bottom = ds.letterbox_padding
    pred = ds.gt_sem_seg.data[0].numpy().astype(np.float32)
    crop = pred[top:104 - bottom, left:104 - right]
    back = cv2.resize(crop, (W, H), interpolation=cv2.INTER_LINEAR) > 0.5
    want = mask[:, ::-1] if flip else mask
    wrong = back != want.astype(bool)
    # within the resampling at the boundary (1 / 0.65 input pixels)
    grown = cv2.dilate(boundary(want).astype(np.uint8), np.ones((3, 3)))
    assert not (wrong & ~grown.astype(bool)).any()
    assert ds.ori_shape == (H, W) and ds.img_shape == (104, 104)
    assert ds.scale_factor == (0.65, 0.65)


def test_affine_matches_letterbox_then_affine(monkeypatch):
    """A given affine: one warp ~ letterbox + RandomAffine's warp."""
    matrix = np.eye(3)
    matrix[:2] = cv2.getRotationMatrix2D((52, 52), 4.0, 1.07)
    matrix[:, 2] += (3.0, -5.0, 0.0)
    monkeypatch.setattr(RandomAffine, '_random_matrix',
                        lambda self, h, w: matrix.copy())
    fused = RandomAffineLetterbox(scale=(104, 104), pad_val=PAD,
                                  flip_prob=0.0)(loaded())
    ref = RandomAffine(border_val=PAD)(separate(loaded(), False))
    np.testing.assert_allclose(fused['affine_matrix'], matrix, atol=1e-6)
    np.testing.assert_allclose(ref['affine_matrix'], matrix, atol=1e-6)
    # one resampling instead of two: close on a smooth image
    inner = cv2.erode(
        (ref['img'] != np.uint8([104, 117, 123])).any(-1).astype(np.uint8),
        np.ones((3, 3)))
    diff = np.abs(fused['img'].astype(int) - ref['img'])[inner.astype(bool)]
    assert np.percentile(diff, 99) <= 2 and diff.mean() < 0.5
    a, b = fused['gt_seg_map'].astype(bool), ref['gt_seg_map'].astype(bool)
    assert (a & b).sum() / (a | b).sum() > 0.9
    assert not ((a != b) & ~boundary(ref['gt_seg_map'])).any()


def test_random_affine_keeps_mask_and_image_aligned():
    """The object's colour stays under the warped mask."""
    img = smooth_image()
    mask = object_mask()
    img[mask.astype(bool)] = (0, 0, 255)
    t = RandomAffineLetterbox(scale=(104, 104), pad_val=PAD,
                              hsv_gains=None, max_rotate_degree=20,
                              max_shear_degree=5)
    np.random.seed(0)
    for _ in range(10):
        out = t(loaded(img=img, mask=mask))
        gt = out['gt_seg_map'].astype(bool)
        red = (out['img'][..., 2] > 200) & (out['img'][..., 0] < 60)
        assert gt.any()
        inside = gt & ~boundary(out['gt_seg_map'])
        assert red[inside].all()
        assert not red[~gt & ~boundary(out['gt_seg_map'])].any()


def test_empty_mask_retries_then_skips(monkeypatch):
    """A draw that loses the object is redrawn; all lost: no affine."""
    away = np.eye(3)
    away[0, 2] = 1000.0  # moves everything out of view
    draws = []

    def draw(self, h, w):
        draws.append(1)
        return away.copy()

    monkeypatch.setattr(RandomAffine, '_random_matrix', draw)
    out = RandomAffineLetterbox(scale=(104, 104), pad_val=PAD,
                                max_retries=3)(loaded())
    assert len(draws) == 4
    np.testing.assert_array_equal(out['affine_matrix'], np.eye(3))
    assert out['gt_seg_map'].any()


def test_hsv_on_output_keeps_padding_and_matches_distribution():
    gains = np.array([1.2, 0.7, 1.3])
    t = RandomAffineLetterbox(scale=(104, 104), pad_val=PAD, flip_prob=0.0,
                              affine_prob=0.0, hsv_gains=(0.5, 0.5, 0.5))
    t.hsv._sample = lambda: (True, gains)
    fused = t(loaded())
    ref = loaded()
    ref['img'] = RandomHSV.jitter(ref['img'], gains)
    ref = LetterboxResize(scale=(104, 104), pad_val=PAD)(ref)
    # jitter then resize vs resize then jitter: close on a smooth image
    diff = np.abs(fused['img'].astype(int) - ref['img'])
    assert np.percentile(diff, 99) <= 3 and diff.mean() < 0.5
    # the padding is not jittered
    np.testing.assert_array_equal(fused['img'][:13], ref['img'][:13])
    np.testing.assert_array_equal(fused['img'][-13:], ref['img'][-13:])


def test_value_only_jitter_on_output_keeps_padding():
    # the ASDA config's jitter (value only): same result as jittering the
    # letterboxed image, except that the padding stays exact
    gains = np.array([1.0, 1.0, 1.4])
    t = RandomAffineLetterbox(scale=(104, 104), pad_val=PAD, flip_prob=0.0,
                              affine_prob=0.0, hsv_gains=(0.0, 0.0, 0.5))
    t.hsv._sample = lambda: (True, gains)
    fused = t(loaded())
    plain = RandomAffineLetterbox(scale=(104, 104), pad_val=PAD,
                                  flip_prob=0.0, affine_prob=0.0)(loaded())
    jittered = RandomHSV.jitter(plain['img'], gains)
    assert not np.array_equal(jittered, plain['img'])
    np.testing.assert_array_equal(fused['img'][13:-13], jittered[13:-13])
    np.testing.assert_array_equal(fused['img'][:13], plain['img'][:13])
    np.testing.assert_array_equal(fused['img'][-13:], plain['img'][-13:])


def test_hsv_needs_uint8_colour_image():
    t = RandomAffineLetterbox(scale=(32, 32), hsv_gains=(0.5, 0.5, 0.5))
    with pytest.raises(TypeError, match='uint8'):
        t(loaded(img=smooth_image().astype(np.float32)))
    # without HSV float and grey images warp
    out = RandomAffineLetterbox(scale=(32, 32), affine_prob=0.0)(
        loaded(img=smooth_image().astype(np.float32)))
    assert out['img'].shape == (32, 32, 3) and out['img'].dtype == np.float32
    out = RandomAffineLetterbox(scale=(32, 32), pad_val=0, affine_prob=0.0)(
        loaded(img=smooth_image()[..., 0]))
    assert out['img'].shape == (32, 32)


@pytest.mark.parametrize('kwargs, match', [
    (dict(scale=(0, 4)), 'scale'),
    (dict(flip_prob=1.5), 'flip_prob'),
    (dict(affine_prob=-1), 'prob'),
    (dict(hsv_gains=(0.5, 0.5)), 'hsv_gains'),
    (dict(max_translate_ratio=2), 'max_translate_ratio'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RandomAffineLetterbox(**kwargs)


def test_flip_letterbox_matrix_maps_pixel_centres():
    m = flip_letterbox_matrix((H, W), (78, 104), (0, 0, 13, 13), flip=True)
    # the left edge of the input (x = -0.5) lands on the right edge of
    # the output (x = 103.5), the top edge on the first row under the pad
    np.testing.assert_allclose(m @ [-0.5, -0.5, 1], [103.5, 12.5, 1])
    np.testing.assert_allclose(m @ [W - 0.5, H - 0.5, 1], [-0.5, 90.5, 1])


def test_asda_config_pipeline_from_config():
    """The ASDA config's pipeline packs what the model expects."""
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    cfg = Config.fromfile(osp.join(repo, 'configs/asda/asda_vitb_refcoco.py'))
    steps = list(cfg.train_dataloader.dataset.pipeline)[2:]
    init_default_scope('mmris')
    np.random.seed(1)
    pipe = Compose(steps)
    texts = set()
    for _ in range(6):
        packed = pipe(loaded())
        ds = packed['data_samples']
        assert tuple(packed['inputs'].shape) == (3, 416, 416)
        assert tuple(ds.gt_sem_seg.data.shape) == (1, 416, 416)
        assert ds.gt_sem_seg.data.sum() > 0
        assert ds.text.endswith('right') == ds.flip
        assert ds.letterbox_padding == (0, 0, 52, 52)
        texts.add(ds.text)
    assert len(texts) == 2
