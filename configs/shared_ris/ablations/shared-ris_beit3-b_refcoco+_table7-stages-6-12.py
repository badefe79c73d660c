# S Tab. VII(a): Shared FPN over stages {6, 12} (K = 2). Paper: 4M params,
# 5 GFLOPs, oIoU 67.74, mIoU 69.89.
_base_ = '../shared-ris_beit3-b_8xb14-35e_refcoco+-480x480.py'
# ablations are reported on RefCOCO+ val
test_dataloader = dict(dataset=dict(split=['val']))
model = dict(backbone=dict(out_indices=(5, 11)))
