"""End-to-end pipelines built from config dicts, as in mmris configs."""
import cv2
import numpy as np
import pytest
from mmcv.transforms import Compose
from mmengine.registry import init_default_scope

import mmris.datasets.transforms  # noqa: F401  (registers the transforms)

CLIP_MEAN_BGR = (104.04, 116.75, 122.77)


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmris')


def _train_pipeline(size=64):
    return Compose([
        dict(type='LoadRefImageFromFile'),
        dict(type='LoadRefMask'),
        dict(type='RandomFlipText', prob=0.5),
        dict(type='RandomHSV'),
        dict(type='RandomAffine', border_val=CLIP_MEAN_BGR),
        dict(type='PhotoMetricDistortion'),
        dict(type='LetterboxResize', scale=(size, size),
             pad_val=CLIP_MEAN_BGR),
        dict(type='PackRefSegInputs'),
    ])


def _test_pipeline(resize):
    return Compose([
        dict(type='LoadRefImageFromFile'),
        dict(type='LoadRefMask'),
        resize,
        dict(type='PackRefSegInputs'),
    ])


def test_train_pipeline(sample):
    np.random.seed(0)
    pipeline = _train_pipeline()
    for _ in range(10):
        packed = pipeline(dict(sample, seg_fields=[]))
        inputs, ds = packed['inputs'], packed['data_samples']
        assert tuple(inputs.shape) == (3, 64, 64)
        gt = ds.gt_sem_seg.data
        assert tuple(gt.shape) == (1, 64, 64)
        assert set(gt.unique().tolist()) <= {0, 1}
        assert gt.sum() > 0
        assert ds.text in ('the red box on the left',
                           'the red box on the right')
        assert ds.text.endswith('right') == ds.flip
        assert ds.letterbox_padding == (0, 0, 10, 11)  # 40x60 -> 43x64
        assert ds.ori_shape == (40, 60) and ds.img_shape == (64, 64)
        assert (ds.ref_id, ds.sent_id, ds.split) == (7, 70, 'train')


def test_letterbox_test_pipeline(sample, mask):
    packed = _test_pipeline(dict(type='LetterboxResize', scale=(120, 120)))(
        sample)
    ds = packed['data_samples']
    assert ds.letterbox_padding == (0, 0, 20, 20)  # 40x60 x2 -> 80x120
    left, right, top, bottom = ds.letterbox_padding
    crop = ds.gt_sem_seg.data[0, top:120 - bottom, left:120 - right].numpy()
    back = cv2.resize(crop.astype(np.uint8), (60, 40),
                      interpolation=cv2.INTER_NEAREST)
    np.testing.assert_array_equal(back, mask)


@pytest.mark.parametrize('resize, padding', [
    (dict(type='Resize', scale=(64, 32), keep_ratio=False), None),
    (dict(type='RefResize', scale=(64, 32), keep_ratio=False), (0, 0, 0, 0)),
])
def test_plain_resize_test_pipeline(sample, resize, padding):
    ds = _test_pipeline(resize)(sample)['data_samples']
    assert ds.img_shape == (32, 64)
    assert tuple(ds.gt_sem_seg.data.shape) == (1, 32, 64)
    assert ds.get('letterbox_padding') == padding


@pytest.mark.parametrize('kind', ['gray', 'rgba'])
def test_gray_and_rgba_images(tmp_path, sample, image, kind):
    path = str(tmp_path / f'{kind}.png')
    if kind == 'gray':
        cv2.imwrite(path, cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    else:
        cv2.imwrite(path, cv2.cvtColor(image, cv2.COLOR_BGR2BGRA))
    np.random.seed(0)
    packed = _train_pipeline()(dict(sample, img_path=path, seg_fields=[]))
    assert tuple(packed['inputs'].shape) == (3, 64, 64)


def test_on_generated_refer_data(refer_data_root):
    """The full training pipeline on RefCOCODataset's samples (generated
    REFER data, see the suite's conftest)."""
    from mmris.datasets import RefCOCODataset
    np.random.seed(0)
    ds = RefCOCODataset(
        data_root=refer_data_root,
        split='train',
        pipeline=_train_pipeline(size=96).transforms)
    for idx in range(min(len(ds), 12)):
        info = ds.get_data_info(idx)
        packed = ds[idx]
        sample = packed['data_samples']
        assert tuple(packed['inputs'].shape) == (3, 96, 96)
        assert tuple(sample.gt_sem_seg.data.shape) == (1, 96, 96)
        assert sample.ref_id == info['ref_id']
        assert sample.ori_shape == (info['ref_mask']['height'],
                                    info['ref_mask']['width'])
        assert isinstance(sample.text, str)
        assert len(sample.letterbox_padding) == 4
