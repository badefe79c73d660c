# RISCLIP-L (NAACL 2024) on RefCOCO (UNC), stage 1 of 2 ("Locator"): the
# recipe of risclip-b_stage1_4xb8-60e_refcoco-640x640.py on open_clip
# ViT-L-14-336-quickgelu (OpenAI weights) at 560x560 (40x40 tokens of 14x14
# patches); batch 32 (4 GPUs x 8 here; the paper gives the total only).
#
#   python tools/train_two_stage.py \
#       configs/risclip/risclip-l_stage1_4xb8-60e_refcoco-560x560.py \
#       configs/risclip/risclip-l_stage2_4xb8-1e_refcoco-560x560.py \
#       --work-dir work_dirs/risclip-l_refcoco --gpus 4
_base_ = [
    '../_base_/models/risclip_vitl.py', '../_base_/datasets/refcoco.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_adamw_poly_60e.py'
]
img_scale = (560, 560)
# App. A.1 augmentation (RefTR's random affine and saturation, A22); no flip
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
