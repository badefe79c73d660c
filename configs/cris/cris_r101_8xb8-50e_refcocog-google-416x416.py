# CRIS with CLIP ResNet-101 on RefCOCOg (Google splits, no test split): the
# recipe of cris_r101_8xb8-50e_refcoco-416x416.py (see there) on another
# dataset.
_base_ = './cris_r101_8xb8-50e_refcoco-416x416.py'
# RefCOCOg expressions are longer: 22 tokens with SOS / EOS
model = dict(backbone=dict(context_length=22))
train_dataloader = dict(dataset=dict(dataset='refcocog', split_by='google'))
val_dataloader = dict(dataset=dict(dataset='refcocog', split_by='google'))
test_dataloader = dict(
    dataset=dict(dataset='refcocog', split_by='google', split=['val']))
