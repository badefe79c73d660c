# S Tab. VII(b): cross-attention instead of the shared self-attention in the
# Shared FPN (vision tokens attend to the words). Paper: 8M params,
# 6 GFLOPs, oIoU 66.98, mIoU 69.20.
_base_ = '../shared-ris_beit3-b_8xb14-35e_refcoco+-480x480.py'
# ablations are reported on RefCOCO+ val
test_dataloader = dict(dataset=dict(split=['val']))
model = dict(neck=dict(fusion='cross'))
