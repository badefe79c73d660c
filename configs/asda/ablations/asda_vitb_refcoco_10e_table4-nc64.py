# ASDA Table 4: N_c = 64 response masks and coefficients (paper default 32),
# 10-epoch schedule of asda_vitb_refcoco_10e.py.
_base_ = ['./asda_vitb_refcoco_10e.py']
model = dict(decode_head=dict(num_prototypes=64))
