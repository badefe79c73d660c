# RefCOCO (UNC splits) with the CRIS / ASDA protocol: letterbox to 416x416,
# padded with the CLIP mean; evaluation on every sentence at the original
# resolution. The test set evaluates val, testA and testB in one run.
dataset_type = 'RefCOCODataset'
data_root = 'data/'
dataset = 'refcoco'
split_by = 'unc'
eval_splits = ['val', 'testA', 'testB']
img_scale = (416, 416)
# CLIP mean in BGR order (images are loaded as BGR)
pad_val = (104.09, 116.75, 122.77)

train_pipeline = [
    dict(type='LoadRefImageFromFile'),
    dict(type='LoadRefMask'),
    dict(type='LetterboxResize', scale=img_scale, pad_val=pad_val),
    dict(type='PackRefSegInputs'),
]
# the mask is loaded after resizing: evaluation is at the original size
test_pipeline = [
    dict(type='LoadRefImageFromFile'),
    dict(type='LetterboxResize', scale=img_scale, pad_val=pad_val),
    dict(type='LoadRefMask'),
    dict(type='PackRefSegInputs'),
]

# Loader workers per GPU process, sized to the pipeline's cost (issue 12):
# workers = target samples/s x seconds per sample on one core. Target: an
# H200 trains a 416 px ViT-B / R50 model at about 2,000 samples/s per GPU.
# This training pipeline (CRIS: JPEG decode + letterbox + mask, a 640x480
# JPEG of COCO's mean size -> 416) costs about 4 ms a sample on one core
# (tools/analysis_tools/benchmark_pipeline.py), so 2,000 x 4 ms = 8 busy
# cores; 10 leave headroom (4 capped it at about 1,000 samples/s). Methods
# with heavier augmentation set their own (ASDA: 16). On a machine with fewer
# cores per GPU, lower it with --cfg-options train_dataloader.num_workers=N.
train_dataloader = dict(
    batch_size=8,
    num_workers=10,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        dataset=dataset,
        split_by=split_by,
        split='train',
        sample_unit='sentence',
        pipeline=train_pipeline))
# evaluation: decode + letterbox + mask at the original size, about 4 ms a
# sample on one core; 8 workers feed about 2,000 samples/s
val_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        dataset=dataset,
        split_by=split_by,
        split='val',
        sample_unit='sentence',
        test_mode=True,
        pipeline=test_pipeline))
# one dataset over several splits: every sample keeps its split's name and
# RefSegMetric reports each split
test_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        dataset=dataset,
        split_by=split_by,
        split=eval_splits,
        sample_unit='sentence',
        test_mode=True,
        pipeline=test_pipeline))
val_evaluator = dict(type='RefSegMetric')
test_evaluator = val_evaluator
