# ASDA with CLIP ViT-B/16 on RefCOCOg (UMD splits, the papers' "G-Ref"): the
# recipe of asda_vitb_refcoco.py (see there) on another dataset.
_base_ = './asda_vitb_refcoco.py'
# 17 tokens with SOS / EOS, as the public code uses for every dataset (it
# tokenizes with length 17 and builds a 17-row text positional embedding);
# the paper's text gives 22 for G-Ref: --cfg-options
# model.backbone.context_length=22 (then a converted public checkpoint no
# longer loads).
train_dataloader = dict(dataset=dict(dataset='refcocog', split_by='umd'))
val_dataloader = dict(dataset=dict(dataset='refcocog', split_by='umd'))
test_dataloader = dict(
    dataset=dict(dataset='refcocog', split_by='umd', split=['val', 'test']))
