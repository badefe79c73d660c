# RISCLIP-L on the combined RefCOCO family (Table 2), stage 1 of 2:
# the per-dataset recipe with batch 56 (8 GPUs x 7 here; App. A.1
# gives the total only). Training: RefCOCO + RefCOCO+ + RefCOCOg (UMD) train
# without any image of their val / test splits; evaluation on all of them.
#
#   python tools/train_two_stage.py \
#       configs/risclip/risclip-l_stage1_8xb7-60e_refcoco-family-560x560.py \
#       configs/risclip/risclip-l_stage2_8xb7-1e_refcoco-family-560x560.py \
#       --work-dir work_dirs/risclip-l_refcoco-family --gpus 8
_base_ = [
    '../_base_/models/risclip_vitl.py',
    '../_base_/datasets/refcoco_family.py', '../_base_/default_runtime.py',
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
train_dataloader = dict(
    batch_size=7,
    dataset=dict(datasets=[
        dict(
            type=_base_.dataset_type,
            data_root=_base_.data_root,
            dataset=name,
            split_by=split_by,
            split='train',
            sample_unit='sentence',
            exclude_images_of=_base_.eval_images,
            pipeline=train_pipeline)
        for name, split_by in _base_.train_sources
    ]))
val_dataloader = dict(
    batch_size=7,
    dataset=dict(datasets=[
        dict(
            type=_base_.dataset_type,
            data_root=_base_.data_root,
            dataset=name,
            split_by=split_by,
            split=splits,
            sample_unit='sentence',
            test_mode=True,
            pipeline=test_pipeline)
        for name, split_by, splits in _base_.eval_sources
    ]))
test_dataloader = val_dataloader
auto_scale_lr = dict(base_batch_size=56)
