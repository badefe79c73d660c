# S Tab. III row 3 (= Tab. IV / VII "No FPN"): no Shared FPN; the Shared
# decoder reads the last encoder stage (768-d vision tokens and words,
# projected to d_w per modality). Paper: P@.5/.7/.9 81.39/69.53/13.42, oIoU
# 66.25, mIoU 68.38.
_base_ = '../shared-ris_beit3-b_8xb14-35e_refcoco+-480x480.py'
# ablations are reported on RefCOCO+ val
test_dataloader = dict(dataset=dict(split=['val']))
model = dict(neck=None)
