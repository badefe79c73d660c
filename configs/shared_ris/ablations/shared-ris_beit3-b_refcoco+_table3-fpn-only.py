# S Tab. III row 2 (= Tab. V / VIII "No Fusion"): Shared FPN, decoder without
# its shared transformer layer. Paper: P@.5/.7/.9 81.87/70.25/13.59, oIoU
# 67.31, mIoU 69.10 (Tab. V / VIII give mIoU 67.71).
_base_ = '../shared-ris_beit3-b_8xb14-35e_refcoco+-480x480.py'
# ablations are reported on RefCOCO+ val
test_dataloader = dict(dataset=dict(split=['val']))
model = dict(decode_head=dict(num_layers=0))
