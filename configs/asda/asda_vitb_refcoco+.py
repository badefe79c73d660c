# ASDA with CLIP ViT-B/16 on RefCOCO+ (UNC splits): the recipe of
# asda_vitb_refcoco.py (see there) on another dataset.
_base_ = [
    '../_base_/models/asda_vitb.py', '../_base_/datasets/refcoco_plus.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_adam_30e.py'
]

# the ASDA training pipeline (public code's augmentation), as in
# asda_vitb_refcoco.py: 0 load image, 1 load mask, 2 flip, 3 HSV,
# 4 letterbox, 5 affine, 6 pack
train_pipeline = [
    dict(type='LoadRefImageFromFile'),
    dict(type='LoadRefMask'),
    dict(type='RandomFlipText', prob=0.5),
    dict(type='RandomHSV', hgain=0.5, sgain=0.5, vgain=0.5),
    dict(type='LetterboxResize', scale=_base_.img_scale,
         pad_val=_base_.pad_val),
    dict(
        type='RandomAffine',
        max_rotate_degree=5.0,
        max_translate_ratio=0.1,
        scaling_ratio_range=(0.9, 1.1),
        max_shear_degree=2.0,
        border_val=_base_.pad_val),
    dict(type='PackRefSegInputs'),
]
# 14 per GPU x 2 GPUs = the paper's batch of 28
train_dataloader = dict(
    batch_size=14, num_workers=4, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=14)
test_dataloader = dict(batch_size=14)
