# Shared-RIS with BEiT-3 base on RefCOCO+ (UNC splits): the recipe of
# shared-ris_beit3-b_8xb14-35e_refcoco-480x480.py (see there).
_base_ = './shared-ris_beit3-b_8xb14-35e_refcoco-480x480.py'
train_dataloader = dict(dataset=dict(dataset='refcoco+', split_by='unc'))
val_dataloader = dict(dataset=dict(dataset='refcoco+', split_by='unc'))
test_dataloader = dict(
    dataset=dict(
        dataset='refcoco+', split_by='unc', split=['val', 'testA', 'testB']))
