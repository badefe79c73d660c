"""Tests of PackRefSegInputs."""
import inspect

import numpy as np
import pytest
import torch
from mmseg.datasets.transforms import PackSegInputs
from mmseg.structures import SegDataSample

from mmris.datasets.transforms import REF_META_KEYS, PackRefSegInputs
from mmris.registry import TRANSFORMS

EXTRA_KEYS = ('text', 'ref_id', 'sent_id', 'ann_id', 'img_id', 'split',
              'letterbox_padding')


def test_default_meta_keys_extend_mmseg():
    mmseg_default = inspect.signature(
        PackSegInputs.__init__).parameters['meta_keys'].default
    assert REF_META_KEYS == tuple(mmseg_default) + EXTRA_KEYS
    assert PackRefSegInputs().meta_keys == REF_META_KEYS


def test_pack(loaded):
    loaded['letterbox_padding'] = (0, 0, 2, 3)
    packed = PackRefSegInputs()(loaded)
    inputs, sample = packed['inputs'], packed['data_samples']
    assert isinstance(inputs, torch.Tensor)
    assert inputs.shape == (3, 40, 60) and inputs.dtype == torch.uint8
    assert isinstance(sample, SegDataSample)
    gt = sample.gt_sem_seg.data
    # LoadRefMask's uint8 mask keeps its dtype (1 byte a pixel)
    assert gt.shape == (1, 40, 60) and gt.dtype == torch.uint8
    np.testing.assert_array_equal(gt[0].numpy(), loaded['gt_seg_map'])
    assert sample.text == 'the red box on the left'
    assert (sample.ref_id, sample.sent_id, sample.ann_id,
            sample.img_id) == (7, 70, 700, 3)
    assert sample.split == 'train'
    assert sample.letterbox_padding == (0, 0, 2, 3)
    assert sample.ori_shape == (40, 60) and sample.img_path == 'in_memory.png'
    assert sample.reduce_zero_label is False


def test_missing_optional_keys_skipped(loaded):
    del loaded['split'], loaded['ann_id']
    sample = PackRefSegInputs()(loaded)['data_samples']
    assert 'split' not in sample.metainfo and 'ann_id' not in sample.metainfo
    assert 'letterbox_padding' not in sample.metainfo


def test_without_mask(loaded):
    del loaded['gt_seg_map']
    sample = PackRefSegInputs()(loaded)['data_samples']
    assert 'gt_sem_seg' not in sample
    assert sample.text == 'the red box on the left'


def test_text_required(loaded):
    del loaded['text']
    with pytest.raises(KeyError, match='text'):
        PackRefSegInputs()(loaded)
    loaded['text'] = ['a', 'b']
    with pytest.raises(TypeError, match='text'):
        PackRefSegInputs()(loaded)


def test_custom_meta_keys_always_have_text(loaded):
    t = PackRefSegInputs(meta_keys=('img_path', 'ref_id'))
    assert t.meta_keys == ('img_path', 'ref_id', 'text')
    sample = t(loaded)['data_samples']
    assert set(sample.metainfo) == {'img_path', 'ref_id', 'text'}


def test_text_survives_collate_and_preprocessor(loaded):
    """The expression reaches the model through collation and
    SegDataPreProcessor, as the segmentor expects."""
    from mmengine.dataset import pseudo_collate

    from mmris.registry import MODELS
    t = PackRefSegInputs()
    other = dict(loaded, text='another one', ref_id=8)
    batch = pseudo_collate([t(dict(loaded)), t(other)])
    pre = MODELS.build(
        dict(
            type='SegDataPreProcessor',
            mean=[0., 0., 0.],
            std=[1., 1., 1.],
            size=(48, 64)))
    data = pre(batch, training=True)
    assert data['inputs'].shape == (2, 3, 48, 64)
    texts = [s.text for s in data['data_samples']]
    assert texts == ['the red box on the left', 'another one']
    assert [s.ref_id for s in data['data_samples']] == [7, 8]


def test_registry():
    assert TRANSFORMS.get('PackRefSegInputs') is PackRefSegInputs
    assert 'text' in repr(PackRefSegInputs())
