# ASDA with CLIP ViT-B/16 on RefCOCOg (UMD splits, the papers' "G-Ref"): the
# recipe of asda_vitb_refcoco.py (see there) on another dataset.
_base_ = './asda_vitb_refcoco.py'
# RefCOCOg expressions are longer: 22 tokens with SOS / EOS
model = dict(backbone=dict(context_length=22))
train_dataloader = dict(dataset=dict(dataset='refcocog', split_by='umd'))
val_dataloader = dict(dataset=dict(dataset='refcocog', split_by='umd'))
test_dataloader = dict(
    dataset=dict(dataset='refcocog', split_by='umd', split=['val', 'test']))
