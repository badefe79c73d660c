# Mixed (CRIS x ASDA): does CRIS gain from ASDA's CLIP ViT-B/16 image tower?
# CLIP ViT-B/16 taps at layers 4, 8, 12 -> a ViTDet simple feature pyramid
# (strides 8/16/32) -> the CRIS neck (Eq. 1-4) and decoder + projector
# (Eq. 5-10), with the CRIS recipe. Channels, sentence and word widths come
# from the backbone's declared output (docs/design.md section 2.2).
_base_ = [
    '../_base_/models/asda_vitb.py', '../_base_/datasets/refcoco.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_adam_50e.py'
]
model = dict(
    backbone=dict(
        # 0-based ids of paper layers 4, 8, 12
        out_indices=(3, 7, 11),
        # CRIS multiplies the EOT feature by CLIP's text projection
        project_sentence=True),
    neck=[
        dict(type='SimpleFeaturePyramid', scales=(2.0, 1.0, 0.5),
             in_index=(0, 1, 2), out_channels=(512, 1024, 1024)),
        dict(type='CRISNeck', out_channels=512)
    ],
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
train_dataloader = dict(dataset=dict(sample_unit='ref'))
sync_bn = 'torch'
