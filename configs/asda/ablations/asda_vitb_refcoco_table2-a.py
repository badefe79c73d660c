# ASDA Table 2 (a) "baseline": only the top ViT layer F_H (layer 12), fused
# with the sentence feature f_E (F_G = F_H x f_E) and projected; the
# segmentation decoder predicts the mask without word-level features.
_base_ = ['../asda_vitb_refcoco.py']
model = dict(
    neck=dict(selection='none', use_sfa=False),
    decode_head=dict(dual_branch=False, use_words=False))
