# ASDA Table 3: n = 3 local visual attention layers in the CFS branch
# (paper default 2), 10-epoch schedule of asda_vitb_refcoco_10e.py.
_base_ = ['./asda_vitb_refcoco_10e.py']
model = dict(decode_head=dict(num_layers=3))
