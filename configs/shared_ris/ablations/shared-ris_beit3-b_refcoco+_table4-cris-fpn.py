# S Tab. IV row 2: the FPN of CRIS inside Shared-RIS (with the Shared
# decoder). CRIS's neck fuses three levels at strides 8 / 16 / 32 with the
# sentence feature; here they are BEiT-3 stages {4, 8, 12} rescaled
# bilinearly by x2 / x1 / x0.5 (a parameter-free simple pyramid), and the
# sentence is the text CLS (768-d). The decoder reads the fused map (512-d)
# and the encoder's words (768-d, projected), without a vision CLS. Paper:
# 23M params, 19 GFLOPs, oIoU 66.91, mIoU 68.37.
_base_ = '../shared-ris_beit3-b_8xb14-35e_refcoco+-480x480.py'
# ablations are reported on RefCOCO+ val
test_dataloader = dict(dataset=dict(split=['val']))
model = dict(
    backbone=dict(out_indices=(3, 7, 11), visual_scales=(2.0, 1.0, 0.5)),
    neck=dict(
        _delete_=True,
        type='CRISNeck',
        in_channels=(768, 768, 768),
        out_channels=512,
        sentence_dims=768),
    decode_head=dict(in_channels=512, word_dims=768, use_cls=False))
