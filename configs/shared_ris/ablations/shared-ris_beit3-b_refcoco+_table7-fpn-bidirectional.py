# S Tab. VII(b): bi-directional fusion (Grounding DINO style: vision attends
# to words and words to vision) in the Shared FPN, here with two standard
# multi-head attentions per stage (the paper's module has 37M params,
# 22 GFLOPs; oIoU 68.19, mIoU 70.02).
_base_ = '../shared-ris_beit3-b_8xb14-35e_refcoco+-480x480.py'
# ablations are reported on RefCOCO+ val
test_dataloader = dict(dataset=dict(split=['val']))
model = dict(neck=dict(fusion='bidirectional'))
