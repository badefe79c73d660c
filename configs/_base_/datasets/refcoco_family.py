# Training on the combined RefCOCO family: RefCOCO train + RefCOCO+ train +
# RefCOCOg (UMD) train, leaving out every image that appears in any val/test
# split of the three datasets (RefCOCO/RefCOCO+ val/testA/testB, RefCOCOg UMD
# val/test and Google val), so that nothing evaluated was trained on.
# Validation and test cover the val/test splits of all three datasets.
# Pipelines and loader settings are those of refcoco.py.
_base_ = ['./refcoco.py', './refcoco_family_sources.py']

train_dataloader = dict(
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
