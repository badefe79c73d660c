# A tiny CRIS for the quick start (README "Quick start", tools/quickstart.sh).
# The same components as the paper configs (CLIPResNet -> CRISNeck ->
# CRISHead with the dynamic-kernel projector), at reduced width and depth,
# randomly initialised, trained for a few minutes on 2 CPU cores on the
# synthetic scenes of tools/dataset_converters/make_synthetic_scenes.py
# (coloured circles / squares / triangles; expressions that need colour,
# shape and position words). Not a paper recipe: lr, epochs, input size and
# the loss are set for fast learning from scratch.
_base_ = ['../_base_/default_runtime.py']

data_root = 'data/synthetic_scenes/'
img_scale = (96, 96)
# CLIP mean in BGR order (images are loaded as BGR)
pad_val = (104.09, 116.75, 122.77)
max_epochs = 8

train_pipeline = [
    dict(type='LoadRefImageFromFile'),
    dict(type='LoadRefMask'),
    dict(type='LetterboxResize', scale=img_scale, pad_val=pad_val),
    dict(type='PackRefSegInputs'),
]
test_pipeline = [
    dict(type='LoadRefImageFromFile'),
    dict(type='LetterboxResize', scale=img_scale, pad_val=pad_val),
    dict(type='LoadRefMask'),
    dict(type='PackRefSegInputs'),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='RefCOCODataset',
        data_root=data_root,
        dataset='refcoco',
        split_by='unc',
        split='train',
        # as CRIS: one random expression per ref at every epoch
        sample_unit='ref',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='RefCOCODataset',
        data_root=data_root,
        dataset='refcoco',
        split_by='unc',
        split='val',
        sample_unit='sentence',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='RefSegMetric')
test_evaluator = val_evaluator

model = dict(
    type='RefSegmentor',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[122.7709383, 116.7460125, 104.09373615],
        std=[68.5005327, 66.6321579, 70.32316305],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=img_scale),
    backbone=dict(
        type='CLIPResNet',
        pretrained=None,
        # a CLIP ModifiedResNet [1, 1, 1, 1] of width 8 (stage outputs
        # 32/64/128/256 channels, attention pool to 64) and a 2-layer,
        # 64-wide text transformer, random weights
        model_cfg=dict(
            embed_dim=64,
            vision_cfg=dict(
                layers=[1, 1, 1, 1], width=8, image_size=img_scale[0]),
            text_cfg=dict(
                context_length=77,
                vocab_size=49408,
                width=64,
                heads=4,
                layers=2)),
        context_length=12),
    neck=dict(
        type='CRISNeck',
        in_channels=(64, 128, 64),
        out_channels=64,
        sentence_dims=64),
    decode_head=dict(
        type='CRISHead',
        in_channels=64,
        word_dims=64,
        sentence_dims=64,
        num_layers=1,
        num_heads=4,
        ffn_dims=128,
        dropout=0.0,
        proj_channels=32,
        kernel_size=3,
        loss_decode=[
            dict(type='MaskBCELoss'),
            dict(type='MaskDiceLoss'),
        ]),
    test_cfg=dict(threshold=0.35))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-3, weight_decay=0.0),
    clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(
        type='MultiStepLR',
        by_epoch=True,
        milestones=[int(max_epochs * 0.75)],
        gamma=0.1)
]
# no validation during training: tools/quickstart.sh evaluates at the end
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs,
    val_interval=max_epochs + 1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=True, interval=max_epochs,
        max_keep_ckpts=1, save_last=True),
    # tools/test.py --show-dir turns drawing on; a few overlays are enough
    visualization=dict(
        type='RefSegVisualizationHook', draw=False, max_samples=16))
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)
