# CRIS with CLIP ResNet-50 on RefCOCO+ (UNC splits): the recipe of
# cris_r50_8xb8-50e_refcoco-416x416.py (see there) on another dataset.
_base_ = './cris_r50_8xb8-50e_refcoco-416x416.py'
train_dataloader = dict(dataset=dict(dataset='refcoco+', split_by='unc'))
val_dataloader = dict(dataset=dict(dataset='refcoco+', split_by='unc'))
test_dataloader = dict(
    dataset=dict(
        dataset='refcoco+', split_by='unc', split=['val', 'testA', 'testB']))
