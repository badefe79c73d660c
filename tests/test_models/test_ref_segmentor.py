"""RefSegmentor: texts reach the backbone, loss, and the post-processing
that undoes padding and letterbox exactly."""
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

import mmris  # noqa: F401
import mmris.testing  # noqa: F401  (registers the toy model)
from mmris.datasets.transforms import LetterboxResize
from mmris.registry import MODELS
from mmris.utils import register_all_modules

register_all_modules()


def _model(threshold=0.35, size=(64, 64)):
    return MODELS.build(
        dict(
            type='RefSegmentor',
            data_preprocessor=dict(
                type='SegDataPreProcessor',
                mean=[122.7, 116.7, 104.0],
                std=[68.5, 66.6, 70.7],
                bgr_to_rgb=True,
                size=size),
            backbone=dict(type='ToyVLBackbone', channels=(8, 16),
                          text_dims=16),
            decode_head=dict(
                type='ToyRISHead',
                in_channels=16,
                text_dims=16,
                channels=8,
                loss_decode=[
                    dict(type='MaskBCELoss'),
                    dict(type='MaskDiceLoss')
                ]),
            test_cfg=dict(threshold=threshold)))


def _letterbox(mask: np.ndarray, scale=(64, 64)) -> dict:
    h, w = mask.shape
    results = dict(
        img=np.zeros((h, w, 3), np.uint8),
        gt_seg_map=mask.astype(np.uint8),
        seg_fields=['gt_seg_map'],
        img_shape=(h, w),
        ori_shape=(h, w))
    return LetterboxResize(scale=scale)(results)


def _sample(meta: dict) -> SegDataSample:
    return SegDataSample(metainfo=meta)


@pytest.mark.parametrize('ori', [(32, 16), (16, 32), (64, 64), (8, 24)])
def test_letterbox_is_undone_exactly(ori):
    """Logits that are the letterboxed mask come back as the mask itself
    (integer scale factors, so the resize back is exact)."""
    rng = np.random.default_rng(0)
    mask = rng.integers(0, 2, ori).astype(np.uint8)
    boxed = _letterbox(mask)
    assert boxed['gt_seg_map'].shape == (64, 64)
    logits = torch.from_numpy(boxed['gt_seg_map']).float()[None, None]
    logits = logits * 20 - 10
    sample = _sample(
        dict(
            ori_shape=ori,
            img_shape=(64, 64),
            letterbox_padding=boxed['letterbox_padding'],
            padding_size=(0, 0, 0, 0)))
    out = _model().postprocess_result(logits, [sample])[0]
    assert out.pred_sem_seg.data.shape == (1, ) + ori
    np.testing.assert_array_equal(out.pred_sem_seg.data[0].numpy(), mask)


def test_preprocessor_padding_is_cropped_and_threshold_applied():
    # input 20x30 padded to 32x32 on the right/bottom, no letterbox
    logits = torch.full((1, 1, 32, 32), -5.0)
    logits[..., :20, :30] = 0.0  # sigmoid 0.5
    logits[..., :20, :15] = -0.5  # sigmoid 0.378 > 0.35
    logits[..., :20, :5] = -1.0  # sigmoid 0.269 < 0.35
    sample = _sample(
        dict(ori_shape=(20, 30), img_shape=(20, 30),
             padding_size=(0, 2, 0, 12)))
    out = _model(threshold=0.35).postprocess_result(logits, [sample])[0]
    pred = out.pred_sem_seg.data[0]
    assert pred.shape == (20, 30)
    assert pred[:, :5].sum() == 0 and pred[:, 5:].all()
    assert out.seg_logits.data.shape == (1, 20, 30)


def test_texts_reach_the_backbone_and_predict_original_size():
    model = _model()
    seen = []
    original = model.backbone.forward

    def spy(images, texts):
        seen.extend(texts)
        return original(images, texts)

    model.backbone.forward = spy
    samples = []
    for i, (text, ori) in enumerate([('left dog', (30, 50)),
                                     ('the red ball', (50, 30))]):
        boxed = _letterbox(np.ones(ori, np.uint8))
        s = _sample(
            dict(text=text, ori_shape=ori, img_shape=(64, 64),
                 letterbox_padding=boxed['letterbox_padding']))
        s.gt_sem_seg = PixelData(
            data=torch.from_numpy(boxed['gt_seg_map'])[None].long())
        samples.append(s)
    data = dict(
        inputs=[torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8)] * 2,
        data_samples=samples)
    batch = model.data_preprocessor(data, True)
    losses = model.loss(**batch)
    assert set(losses) == {'loss_bce', 'loss_dice', 'acc_iou'}
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    assert all(p.grad is not None for p in model.decode_head.parameters())
    assert seen == ['left dog', 'the red ball']
    model.eval()
    with torch.no_grad():
        out = model.test_step(data)
    assert [o.pred_sem_seg.shape for o in out] == [(30, 50), (50, 30)]
    assert set(np.unique(out[0].pred_sem_seg.data.numpy())) <= {0, 1}
    # bool, 1 byte a pixel (the dtype benchmark_metric.py times)
    assert out[0].pred_sem_seg.data.dtype == torch.bool


def test_missing_text_is_a_clear_error():
    model = _model()
    data = dict(
        inputs=[torch.zeros(3, 64, 64, dtype=torch.uint8)],
        data_samples=[_sample(dict(ori_shape=(64, 64), img_shape=(64, 64),
                                   img_path='x.jpg'))])
    model.eval()
    with pytest.raises(KeyError, match='text'):
        model.test_step(data)
