# Mixed (CRIS x ASDA): ASDA's word-guided dual-branch aligner (WGDA, Eq.
# 6-10) on CRIS's CLIP ResNet-50 and cross-modal neck (Eq. 1-4): does WGDA
# help a convolutional image tower? ASDA recipe (Adam 5e-5, backbone at
# 0.1x, 30 epochs); the WCG grid (26 at 416) and the widths come from the
# declared outputs (docs/design.md section 2.2).
_base_ = [
    '../_base_/models/cris_r50.py', '../_base_/datasets/refcoco.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_adam_30e.py'
]
model = dict(
    neck=dict(_delete_=True, type='CRISNeck', out_channels=512),
    decode_head=dict(
        _delete_=True,
        type='WGDAHead',
        num_prototypes=32,
        num_layers=2,
        num_heads=8,
        loss_decode=[
            dict(type='MaskFocalLoss', alpha=0.25, gamma=2.0,
                 loss_weight=1.0),
            dict(type='MaskDiceLoss', loss_weight=1.0)
        ]))
train_dataloader = dict(batch_size=14)
sync_bn = 'torch'
