# Mixed (ASDA x CRIS): the CRIS decoder + projector (Eq. 5-10) on CLIP
# ViT-B/16 after ASDA's adaptive layer selection and scale-wise aggregation
# (AFS + SFA, Eq. 1-5): is WGDA or the CRIS decoder the better head on
# ASDA's F_coarse? CRIS recipe; widths from the declared outputs.
_base_ = [
    '../_base_/models/asda_vitb.py', '../_base_/datasets/refcoco.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_adam_50e.py'
]
model = dict(
    decode_head=dict(
        _delete_=True,
        type='CRISHead',
        num_layers=3,
        num_heads=8,
        ffn_dims=2048,
        dropout=0.1,
        proj_channels=256,
        kernel_size=3,
        loss_decode=dict(type='MaskBCELoss')))
sync_bn = 'torch'
