# S Tab. VIII(a): 2 shared transformer layers in the decoder. Paper: 12M params, 54 GFLOPs, oIoU 68.57, mIoU 70.59.
_base_ = '../shared-ris_beit3-b_8xb14-35e_refcoco+-480x480.py'
# ablations are reported on RefCOCO+ val
test_dataloader = dict(dataset=dict(split=['val']))
model = dict(decode_head=dict(num_layers=2))
