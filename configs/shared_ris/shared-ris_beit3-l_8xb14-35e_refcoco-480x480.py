# Shared-RIS with BEiT-3 large (S Tab. II, IX) on refcoco: the recipe of
# shared-ris_beit3-b_8xb14-35e_refcoco-480x480.py with the large encoder
# (24 layers, width 1024). The Shared FPN taps stages {6, 12, 18, 24}, the
# relative depths of the base model's {3, 6, 9, 12} (not given in the paper).
_base_ = './shared-ris_beit3-b_8xb14-35e_refcoco-480x480.py'
model = dict(
    backbone=dict(
        arch='large',
        out_indices=(5, 11, 17, 23),
        pretrained='checkpoints/beit3/beit3_large_patch16_224.pth'))
