# ASDA with CLIP ViT-B/16 on RefCOCO+ (UNC splits): the recipe of
# asda_vitb_refcoco.py (see there) on another dataset.
_base_ = './asda_vitb_refcoco.py'
train_dataloader = dict(dataset=dict(dataset='refcoco+', split_by='unc'))
val_dataloader = dict(dataset=dict(dataset='refcoco+', split_by='unc'))
test_dataloader = dict(
    dataset=dict(
        dataset='refcoco+', split_by='unc', split=['val', 'testA', 'testB']))
