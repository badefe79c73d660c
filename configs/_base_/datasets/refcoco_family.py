# Training on the combined RefCOCO family: RefCOCO train + RefCOCO+ train +
# RefCOCOg (UMD) train, leaving out every image that appears in any val/test
# split of the three datasets (RefCOCO/RefCOCO+ val/testA/testB, RefCOCOg UMD
# val/test and Google val), so that nothing evaluated was trained on.
# Validation and test cover the val/test splits of all three datasets.
dataset_type = 'RefCOCODataset'
data_root = 'data/'
img_scale = (416, 416)
# CLIP mean in BGR order (images are loaded as BGR)
pad_val = (104.09, 116.75, 122.77)
eval_images = [
    dict(dataset='refcoco', split_by='unc', splits=['val', 'testA', 'testB']),
    dict(dataset='refcoco+', split_by='unc', splits=['val', 'testA', 'testB']),
    dict(dataset='refcocog', split_by='umd', splits=['val', 'test']),
    dict(dataset='refcocog', split_by='google', splits=['val']),
]
train_sources = [('refcoco', 'unc'), ('refcoco+', 'unc'), ('refcocog', 'umd')]
eval_sources = [('refcoco', 'unc', ['val', 'testA', 'testB']),
                ('refcoco+', 'unc', ['val', 'testA', 'testB']),
                ('refcocog', 'umd', ['val', 'test'])]

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
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='ConcatDataset',
        datasets=[
            dict(
                type=dataset_type,
                data_root=data_root,
                dataset=name,
                split_by=split_by,
                split='train',
                sample_unit='sentence',
                exclude_images_of=eval_images,
                pipeline=train_pipeline) for name, split_by in train_sources
        ]))
val_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='ConcatDataset',
        datasets=[
            dict(
                type=dataset_type,
                data_root=data_root,
                dataset=name,
                split_by=split_by,
                split=splits,
                sample_unit='sentence',
                test_mode=True,
                pipeline=test_pipeline)
            for name, split_by, splits in eval_sources
        ]))
test_dataloader = val_dataloader
val_evaluator = dict(type='RefSegMetric')
test_evaluator = val_evaluator
