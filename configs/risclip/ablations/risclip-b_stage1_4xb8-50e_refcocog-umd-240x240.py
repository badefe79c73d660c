# RISCLIP-B ablation setting (Sec. 4.4): RefCOCOg (UMD), 240x240 input
# (15x15 tokens, CLIP-B's pretraining grid), 50 stage-1 epochs, otherwise
# the recipe of App. A.1. This is the full model: Table 3 "+SKE", Table 4
# "MHCA", Table 5 "N=12*" (Adapters) and N=6 (CFE, SKE). Stage 2:
# risclip-b_stage2_4xb8-1e_refcocog-umd-240x240.py.
_base_ = '../risclip-b_stage1_4xb8-60e_refcocog-umd-640x640.py'
img_scale = (240, 240)
crop_size = img_scale
train_pipeline = [
    dict(type='LoadRefImageFromFile'),
    dict(type='LoadRefMask'),
    dict(type='LetterboxResize', scale=img_scale, pad_val=_base_.pad_val),
    dict(
        type='RandomAffine',
        max_rotate_degree=5.0,
        max_translate_ratio=0.1,
        scaling_ratio_range=(0.9, 1.1),
        max_shear_degree=2.0,
        border_val=_base_.pad_val),
    dict(type='RandomHSV', hgain=0.0, sgain=0.5, vgain=0.0),
    dict(type='PackRefSegInputs'),
]
test_pipeline = [
    dict(type='LoadRefImageFromFile'),
    dict(type='LetterboxResize', scale=img_scale, pad_val=_base_.pad_val),
    dict(type='LoadRefMask'),
    dict(type='PackRefSegInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(img_size=crop_size))
max_epochs = 50
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs)
