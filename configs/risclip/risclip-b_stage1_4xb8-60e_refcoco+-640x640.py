# RISCLIP-B on RefCOCO+ (UNC), stage 1 of 2: the recipe of
# risclip-b_stage1_4xb8-60e_refcoco-640x640.py on another dataset.
_base_ = './risclip-b_stage1_4xb8-60e_refcoco-640x640.py'
train_dataloader = dict(dataset=dict(dataset='refcoco+', split_by='unc'))
val_dataloader = dict(dataset=dict(dataset='refcoco+', split_by='unc'))
test_dataloader = dict(
    dataset=dict(dataset='refcoco+', split_by='unc', split=['val', 'testA', 'testB']))
