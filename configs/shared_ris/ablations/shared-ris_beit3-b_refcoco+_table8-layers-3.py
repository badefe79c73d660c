# S Tab. VIII(a): 3 shared transformer layers in the decoder. Paper: 15M params, 58 GFLOPs, oIoU 68.27, mIoU 70.29.
_base_ = '../shared-ris_beit3-b_8xb14-35e_refcoco+-480x480.py'
# ablations are reported on RefCOCO+ val
test_dataloader = dict(dataset=dict(split=['val']))
model = dict(decode_head=dict(num_layers=3))
