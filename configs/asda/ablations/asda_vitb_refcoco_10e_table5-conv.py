# ASDA Table 5: convolutional adaptive selection network (a 1-D convolution
# of kernel 3 over the candidate score tokens, then softmax) instead of the
# paper's Linear, 10-epoch schedule of asda_vitb_refcoco_10e.py.
_base_ = ['./asda_vitb_refcoco_10e.py']
model = dict(neck=dict(selector_type='conv'))
