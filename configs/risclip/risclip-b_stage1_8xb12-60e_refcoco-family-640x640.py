# RISCLIP-B on the combined RefCOCO family (Table 2), stage 1 of 2:
# the per-dataset recipe with batch 96 (8 GPUs x 12 here; App. A.1
# gives the total only). Training: RefCOCO + RefCOCO+ + RefCOCOg (UMD) train
# without any image of their val / test splits; evaluation on all of them.
#
#   python tools/train_two_stage.py \
#       configs/risclip/risclip-b_stage1_8xb12-60e_refcoco-family-640x640.py \
#       configs/risclip/risclip-b_stage2_8xb12-1e_refcoco-family-640x640.py \
#       --work-dir work_dirs/risclip-b_refcoco-family --gpus 8
# Model, pipelines, schedule and runtime are those of
# risclip-b_stage1_4xb8-60e_refcoco-640x640.py; the data are the family's.
_base_ = [
    './risclip-b_stage1_4xb8-60e_refcoco-640x640.py',
    '../_base_/datasets/refcoco_family_sources.py'
]
train_dataloader = dict(
    batch_size=12,
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[
            dict(
                type=_base_.dataset_type,
                data_root=_base_.data_root,
                dataset=name,
                split_by=split_by,
                split='train',
                sample_unit='sentence',
                exclude_images_of=_base_.eval_images,
                pipeline=_base_.train_pipeline)
            for name, split_by in _base_.train_sources
        ]))
val_dataloader = dict(
    batch_size=12,
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[
            dict(
                type=_base_.dataset_type,
                data_root=_base_.data_root,
                dataset=name,
                split_by=split_by,
                split=splits,
                sample_unit='sentence',
                test_mode=True,
                pipeline=_base_.test_pipeline)
            for name, split_by, splits in _base_.eval_sources
        ]))
test_dataloader = val_dataloader
auto_scale_lr = dict(base_batch_size=96)
