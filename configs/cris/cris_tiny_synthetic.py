# A tiny CRIS for the quick start (README "Quick start", tools/quickstart.sh).
# The same components as the paper configs (CLIPResNet -> CRISNeck ->
# CRISHead with the dynamic-kernel projector), at reduced width and depth,
# randomly initialised, trained for a few minutes on 2 CPU cores on the
# synthetic scenes of tools/dataset_converters/make_synthetic_scenes.py
# (coloured circles / squares / triangles; expressions that need colour,
# shape and position words). Not a paper recipe: lr, epochs, input size and
# the loss are set for fast learning from scratch.
_base_ = [
    '../_base_/models/cris_r50.py', '../_base_/datasets/refcoco.py',
    '../_base_/default_runtime.py'
]

data_root = 'data/synthetic_scenes/'
img_scale = (96, 96)
max_epochs = 8

# the letterbox pipelines of refcoco.py at 96x96
train_pipeline = [
    dict(type='LoadRefImageFromFile'),
    dict(type='LoadRefMask'),
    dict(type='LetterboxResize', scale=img_scale, pad_val=_base_.pad_val),
    dict(type='PackRefSegInputs'),
]
test_pipeline = [
    dict(type='LoadRefImageFromFile'),
    dict(type='LetterboxResize', scale=img_scale, pad_val=_base_.pad_val),
    dict(type='LoadRefMask'),
    dict(type='PackRefSegInputs'),
]
loader = dict(batch_size=32, num_workers=0, persistent_workers=False)
train_dataloader = dict(
    **loader,
    dataset=dict(
        data_root=data_root,
        # as CRIS: one random expression per ref at every epoch
        sample_unit='ref',
        pipeline=train_pipeline))
val_dataloader = dict(
    **loader, dataset=dict(data_root=data_root, pipeline=test_pipeline))
# the scenes have train and val splits only
test_dataloader = dict(
    **loader,
    dataset=dict(data_root=data_root, split='val', pipeline=test_pipeline))

model = dict(
    data_preprocessor=dict(size=img_scale),
    backbone=dict(
        model_name=None,
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
    neck=dict(in_channels=(64, 128, 64), out_channels=64, sentence_dims=64),
    decode_head=dict(
        in_channels=64,
        word_dims=64,
        sentence_dims=64,
        num_layers=1,
        num_heads=4,
        ffn_dims=128,
        dropout=0.0,
        proj_channels=32,
        loss_decode=[
            dict(type='MaskBCELoss'),
            dict(type='MaskDiceLoss'),
        ]))

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
