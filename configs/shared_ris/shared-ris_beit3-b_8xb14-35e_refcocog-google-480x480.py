# Shared-RIS with BEiT-3 base on RefCOCOg, Google partition (val(G)): the
# recipe of shared-ris_beit3-b_8xb14-35e_refcoco-480x480.py (see there).
_base_ = './shared-ris_beit3-b_8xb14-35e_refcoco-480x480.py'
train_dataloader = dict(dataset=dict(dataset='refcocog', split_by='google'))
val_dataloader = dict(dataset=dict(dataset='refcocog', split_by='google'))
test_dataloader = dict(
    dataset=dict(dataset='refcocog', split_by='google', split=['val']))
