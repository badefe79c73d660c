# S Tab. IV row 2: the FPN of CRIS inside Shared-RIS (with the Shared
# decoder), a mixed config. CRIS's neck fuses a shallow, a middle and a deep
# level with the sentence feature; here they are BEiT-3 stages {4, 8, 12}
# (all at stride 16: the CRIS neck resamples by size, so no pyramid is
# built) and the sentence is the text CLS (768-d). The decoder reads the
# fused 512-d map (no vision CLS after the CRIS neck) and the encoder's
# 768-d words, projected to d_w. Paper: 23M params, 19 GFLOPs, oIoU 66.91,
# mIoU 68.37.
_base_ = '../shared-ris_beit3-b_8xb14-35e_refcoco+-480x480.py'
# ablations are reported on RefCOCO+ val
test_dataloader = dict(dataset=dict(split=['val']))
model = dict(
    backbone=dict(out_indices=(3, 7, 11)),
    neck=dict(_delete_=True, type='CRISNeck', out_channels=512))
