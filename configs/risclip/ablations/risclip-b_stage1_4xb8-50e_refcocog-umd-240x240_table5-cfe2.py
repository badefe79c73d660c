# RISCLIP-B ablation (Sec. 4.4), stage 1: Table 5 (b): 2 CFE modules (the deepest 2 layer pairs).
_base_ = './risclip-b_stage1_4xb8-50e_refcocog-umd-240x240.py'
model = dict(backbone=dict(num_cfe=2))
