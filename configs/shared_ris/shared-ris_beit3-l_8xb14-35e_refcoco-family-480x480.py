# Shared-RIS with BEiT-3 large trained on the combined RefCOCO family
# (S Tab. II double dagger, Tab. IX dagger): RefCOCO + RefCOCO+ + RefCOCOg
# (UMD) train, without any image of their val / test splits (see
# ../_base_/datasets/refcoco_family.py); evaluated on every val / test split
# of the three datasets. Model and recipe of
# shared-ris_beit3-l_8xb14-35e_refcoco-480x480.py.
_base_ = [
    './shared-ris_beit3-l_8xb14-35e_refcoco-480x480.py',
    '../_base_/datasets/refcoco_family_sources.py'
]
# the evaluation splits of refcoco_family_sources.py and RefCOCOg Google val
eval_sources = [('refcoco', 'unc', ['val', 'testA', 'testB']),
                ('refcoco+', 'unc', ['val', 'testA', 'testB']),
                ('refcocog', 'umd', ['val', 'test']),
                ('refcocog', 'google', ['val'])]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[
            dict(
                type='RefCOCODataset',
                data_root='data/',
                dataset=name,
                split_by=split_by,
                split='train',
                sample_unit='ref',
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
                type='RefCOCODataset',
                data_root='data/',
                dataset=name,
                split_by=split_by,
                split=splits,
                sample_unit='sentence',
                test_mode=True,
                pipeline=_base_.test_pipeline)
            for name, split_by, splits in eval_sources
        ]))
test_dataloader = val_dataloader
