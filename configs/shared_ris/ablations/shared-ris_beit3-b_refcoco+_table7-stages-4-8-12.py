# S Tab. VII(a): Shared FPN over stages {4, 8, 12} (K = 3). Paper: 6M params,
# 7 GFLOPs, oIoU 68.13, mIoU 70.24.
_base_ = '../shared-ris_beit3-b_8xb14-35e_refcoco+-480x480.py'
# ablations are reported on RefCOCO+ val
test_dataloader = dict(dataset=dict(split=['val']))
model = dict(backbone=dict(out_indices=(3, 7, 11)))
