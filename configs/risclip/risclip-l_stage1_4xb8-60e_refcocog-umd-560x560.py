# RISCLIP-L on RefCOCOg (UMD), stage 1 of 2: the recipe of
# risclip-l_stage1_4xb8-60e_refcoco-560x560.py on another dataset.
_base_ = './risclip-l_stage1_4xb8-60e_refcoco-560x560.py'
train_dataloader = dict(dataset=dict(dataset='refcocog', split_by='umd'))
val_dataloader = dict(dataset=dict(dataset='refcocog', split_by='umd'))
test_dataloader = dict(
    dataset=dict(dataset='refcocog', split_by='umd', split=['val', 'test']))
