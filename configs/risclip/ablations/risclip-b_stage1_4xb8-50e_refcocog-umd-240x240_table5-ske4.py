# RISCLIP-B ablation (Sec. 4.4), stage 1: Table 5 (c): 4 SKE layers.
_base_ = './risclip-b_stage1_4xb8-50e_refcocog-umd-240x240.py'
model = dict(neck=dict(num_layers=4))
