# S Tab. III row 1: the encoder alone, no Shared FPN, no shared transformer
# layer in the decoder (the last encoder stage projected to d_w, upsampled
# and dotted with the text CLS). Paper: P@.5/.7/.9 79.36/64.70/10.16,
# oIoU 65.12, mIoU 66.40.
_base_ = '../shared-ris_beit3-b_8xb14-35e_refcoco+-480x480.py'
# ablations are reported on RefCOCO+ val
test_dataloader = dict(dataset=dict(split=['val']))
model = dict(neck=None, decode_head=dict(num_layers=0))
