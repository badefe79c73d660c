# Shared-RIS with BEiT-3 base on RefCOCOg, UMD partition (val(U), test(U)):
# the recipe of shared-ris_beit3-b_8xb14-35e_refcoco-480x480.py (see there);
# the text length stays 20 (the paper gives none per dataset).
_base_ = './shared-ris_beit3-b_8xb14-35e_refcoco-480x480.py'
train_dataloader = dict(dataset=dict(dataset='refcocog', split_by='umd'))
val_dataloader = dict(dataset=dict(dataset='refcocog', split_by='umd'))
test_dataloader = dict(
    dataset=dict(dataset='refcocog', split_by='umd', split=['val', 'test']))
