# S Tab. VIII(b): cross-attention instead of the shared self-attention in the
# decoder's shared layer. Paper: 9M params, 48 GFLOPs, oIoU 67.29,
# mIoU 69.30.
_base_ = '../shared-ris_beit3-b_8xb14-35e_refcoco+-480x480.py'
# ablations are reported on RefCOCO+ val
test_dataloader = dict(dataset=dict(split=['val']))
model = dict(decode_head=dict(fusion='cross'))
