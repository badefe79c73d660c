# ASDA Table 2 (b) "(a) + manual assign": ViT layers 6 and 9 as F_L and F_M
# (chosen by hand, following CRIS), concatenated with F_G and projected (no
# multi-scale SFA); word-free decoder as in (a).
# fixed_layers are positions in backbone.out_indices = (3, 4, 5, 6, 7, 8, 11)
# (0-based layer ids): position 2 = layer 6, position 5 = layer 9.
_base_ = ['../asda_vitb_refcoco.py']
model = dict(
    neck=dict(selection='fixed', fixed_layers=(2, 5), use_sfa=False),
    decode_head=dict(dual_branch=False, use_words=False))
