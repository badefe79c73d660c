# CRIS with CLIP ResNet-50 on RefCOCO (UNC splits); the test set evaluates val,
# testA and testB.
# Recipe of the paper (Sec. 4.2) and its public code: 416x416 letterbox
# padded with the CLIP mean, CLIP mean/std, expressions of at most 17
# tokens, one random sentence per ref at every epoch for training and every
# sentence for evaluation; Adam lr 1e-4 with the backbone at 0.1x, x0.1 at
# epoch 35 of 50, batch 64 = 8 GPUs x 8, mixed precision, SyncBN.
_base_ = [
    '../_base_/models/cris_r50.py', '../_base_/datasets/refcoco.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_adam_50e.py'
]
model = dict(backbone=dict(context_length=17))
train_dataloader = dict(dataset=dict(sample_unit='ref'))
# BN layers become SyncBN under distributed GPU training (tools/train.py
# leaves them plain on a CPU)
sync_bn = 'torch'
