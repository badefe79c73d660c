# Shared-RIS with BEiT-3 base on RefCOCO (UNC splits); the test set evaluates
# val, testA and testB.
# Recipe of the paper (Sec. IV-A): 480x480 input, BEiT-3 normalisation
# (mean = std = 0.5), expressions of at most 20 tokens with start / end;
# AdamW (0.9, 0.98), weight decay 5e-4, lr 1e-4 cosine over 35 epochs,
# drop path 0.1, gradient clipping 1.0, batch 112 = 8 GPUs x 14.
# Where the paper is silent (configs/shared_ris/README.md): letterbox resize
# padded with the mean, one random expression per ref at every epoch.
_base_ = [
    '../_base_/models/shared_ris_beit3_base.py',
    '../_base_/datasets/refcoco.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_adamw_cosine_35e.py'
]
img_scale = (480, 480)
# the normalisation mean in BGR order (images are loaded as BGR)
pad_val = (127.5, 127.5, 127.5)
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
train_dataloader = dict(
    batch_size=14,
    dataset=dict(sample_unit='ref', pipeline=train_pipeline))
val_dataloader = dict(batch_size=14, dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(batch_size=14, dataset=dict(pipeline=test_pipeline))
# BN layers of the decoder become SyncBN under distributed GPU training
sync_bn = 'torch'
