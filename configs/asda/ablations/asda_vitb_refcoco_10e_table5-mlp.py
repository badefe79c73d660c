# ASDA Table 5: MLP adaptive selection network (Linear-ReLU-Linear per score
# token, then softmax over the candidates) instead of the paper's Linear,
# 10-epoch schedule of asda_vitb_refcoco_10e.py.
_base_ = ['./asda_vitb_refcoco_10e.py']
model = dict(neck=dict(selector_type='mlp'))
