# CRIS with CLIP ResNet-101 on RefCOCO (UNC splits): the recipe of
# cris_r50_8xb8-50e_refcoco-416x416.py (see there) with the ResNet-101 model.
_base_ = [
    '../_base_/models/cris_r101.py', '../_base_/datasets/refcoco.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_adam_50e.py'
]
model = dict(backbone=dict(context_length=17))
train_dataloader = dict(dataset=dict(sample_unit='ref'))
# BN layers become SyncBN under distributed GPU training (tools/train.py
# leaves them plain on a CPU)
sync_bn = 'torch'
