"""Reduced-size ASDA configs shared by the ``test_asda_*`` files (loaded
with importlib, not as a package: see the note on ``tests`` in
openmmlab_notes.md)."""
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

#: A 12-layer CLIP ViT of width 64 (patch 16) with a 12-layer text tower
#: (ASDA pairs image layer i with text layer i for its layer selection).
SMALL_CLIP = dict(
    embed_dim=32,
    vision_cfg=dict(
        layers=12, width=64, head_width=16, patch_size=16, image_size=32),
    text_cfg=dict(
        context_length=77, vocab_size=49408, width=32, heads=2, layers=12))

IMG = 64  # 4x4 tokens


def small_backbone(**kwargs) -> dict:
    cfg = dict(
        type='CLIPViT',
        model_cfg=SMALL_CLIP,
        img_size=IMG,
        context_length=17,
        out_indices=(3, 4, 5, 6, 7, 8, 11),
        project_sentence=False,
        sentence_levels=True)
    cfg.update(kwargs)
    return cfg


def small_neck(**kwargs) -> dict:
    cfg = dict(
        type='ASDANeck',
        in_channels=64,
        text_dims=32,
        out_channels=32,
        low_candidates=(0, 1, 2),
        mid_candidates=(3, 4, 5),
        high_index=6)
    cfg.update(kwargs)
    return cfg


def small_head(**kwargs) -> dict:
    cfg = dict(
        type='WGDAHead',
        in_channels=32,
        word_dims=32,
        num_prototypes=4,
        num_layers=2,
        num_heads=2,
        ffn_dims=32,
        wcg_ffn_dims=64,
        feat_size=IMG // 16,
        decoder_channels=16,
        loss_decode=[
            dict(type='MaskFocalLoss', alpha=-1, gamma=0),
            dict(type='MaskDiceLoss')
        ])
    cfg.update(kwargs)
    return cfg


def small_segmentor(backbone=None, neck=None, head=None) -> dict:
    return dict(
        type='RefSegmentor',
        data_preprocessor=dict(
            type='SegDataPreProcessor',
            mean=[122.7, 116.7, 104.0],
            std=[68.5, 66.6, 70.7],
            bgr_to_rgb=True,
            size=(IMG, IMG)),
        backbone=small_backbone(**(backbone or {})),
        neck=small_neck(**(neck or {})),
        decode_head=small_head(**(head or {})))


TEXTS = ['the man on the left', 'a red car', 'zebra in the middle',
         'small dog near the bench', 'the tallest giraffe', 'blue umbrella',
         'left most person in white', 'the bowl of soup on the right']


def samples(texts, size, seed=0):
    """SegDataSamples with random masks (values 0/1) and the texts."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for text in texts:
        mask = (torch.rand(1, size, size, generator=gen) > 0.5).long()
        sample = SegDataSample(
            metainfo=dict(
                text=text,
                img_shape=(size, size),
                ori_shape=(size, size),
                batch_input_shape=(size, size),
                pad_shape=(size, size)))
        sample.gt_sem_seg = PixelData(data=mask)
        out.append(sample)
    return out
