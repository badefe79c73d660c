# S Tab. VIII(b): bi-directional fusion in the decoder's shared layer, here
# with two standard multi-head attentions (the paper's module: 14M params,
# 51 GFLOPs; oIoU 68.30, mIoU 70.09).
_base_ = '../shared-ris_beit3-b_8xb14-35e_refcoco+-480x480.py'
# ablations are reported on RefCOCO+ val
test_dataloader = dict(dataset=dict(split=['val']))
model = dict(decode_head=dict(fusion='bidirectional'))
