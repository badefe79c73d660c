# CRIS with CLIP ResNet-50 on RefCOCOg (UMD splits, the papers' "G-Ref"): the
# recipe of cris_r50_8xb8-50e_refcoco-416x416.py (see there) on another
# dataset.
_base_ = './cris_r50_8xb8-50e_refcoco-416x416.py'
# RefCOCOg expressions are longer: 22 tokens with SOS / EOS
model = dict(backbone=dict(context_length=22))
train_dataloader = dict(dataset=dict(dataset='refcocog', split_by='umd'))
val_dataloader = dict(dataset=dict(dataset='refcocog', split_by='umd'))
test_dataloader = dict(
    dataset=dict(dataset='refcocog', split_by='umd', split=['val', 'test']))
