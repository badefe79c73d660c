# ASDA Table 2 (c) "(a) + AFS": F_L and F_M chosen per sample by Adaptive
# Feature Selection (layers 4-6 and 7-9), fused by concatenation and
# projection as in (b) (no SFA); word-free decoder as in (a).
_base_ = ['../asda_vitb_refcoco.py']
model = dict(
    neck=dict(use_sfa=False),
    decode_head=dict(dual_branch=False, use_words=False))
