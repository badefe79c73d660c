# RISCLIP-B (NAACL 2024) on RefCOCO (UNC), stage 1 of 2 ("Locator", Sec. 3.5):
# Adapters, CFE, SKE and the grounding scale / bias are trained on the
# 40x40 patch-level grounding map against the area-downsampled mask, CLIP
# frozen; 60 epochs, AdamW 5e-5, wd 5e-3, poly decay, batch 32 (the paper
# gives the total only; 4 GPUs x 8 here), BF16 autocast (App. A.1).
# Stage 2 is risclip-b_stage2_4xb8-1e_refcoco-640x640.py. Both in sequence,
# resuming whichever stage was interrupted:
#
#   python tools/train_two_stage.py \
#       configs/risclip/risclip-b_stage1_4xb8-60e_refcoco-640x640.py \
#       configs/risclip/risclip-b_stage2_4xb8-1e_refcoco-640x640.py \
#       --work-dir work_dirs/risclip-b_refcoco --gpus 4
_base_ = [
    '../_base_/models/risclip_vitb.py', '../_base_/datasets/refcoco.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_adamw_poly_60e.py'
]
img_scale = (640, 640)
# "random affine transformation and random intensity saturation data
# augmentations following RefTR" (App. A.1), on mmris transforms (A22); no
# flip. Indices for --cfg-options: 0 image, 1 mask, 2 letterbox + affine,
# 3 saturation, 4 pack.
train_pipeline = [
    dict(type='LoadRefImageFromFile'),
    dict(type='LoadRefMask'),
    # letterbox + random affine in one warp (one resampling)
    dict(
        type='RandomAffineLetterbox',
        scale=img_scale,
        pad_val=_base_.pad_val,
        flip_prob=0.0,
        max_rotate_degree=5.0,
        max_translate_ratio=0.1,
        scaling_ratio_range=(0.9, 1.1),
        max_shear_degree=2.0),
    dict(type='RandomHSV', hgain=0.0, sgain=0.5, vgain=0.0),
    dict(type='PackRefSegInputs'),
]
test_pipeline = [
    dict(type='LoadRefImageFromFile'),
    dict(type='LetterboxResize', scale=img_scale, pad_val=_base_.pad_val),
    dict(type='LoadRefMask'),
    dict(type='PackRefSegInputs'),
]
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=8, dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(batch_size=8, dataset=dict(pipeline=test_pipeline))
