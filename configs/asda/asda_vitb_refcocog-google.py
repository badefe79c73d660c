# ASDA with CLIP ViT-B/16 on RefCOCOg (Google splits, no test split): the
# recipe of asda_vitb_refcoco.py (see there) on another dataset.
_base_ = './asda_vitb_refcoco.py'
# RefCOCOg expressions are longer: 22 tokens with SOS / EOS
model = dict(backbone=dict(context_length=22))
train_dataloader = dict(dataset=dict(dataset='refcocog', split_by='google'))
val_dataloader = dict(dataset=dict(dataset='refcocog', split_by='google'))
test_dataloader = dict(
    dataset=dict(dataset='refcocog', split_by='google', split=['val']))
