# RISCLIP-B ablation (Sec. 4.4), stage 1: Table 3, row 2: frozen CLIP + Adapters (no CFE, no SKE).
_base_ = './risclip-b_stage1_4xb8-50e_refcocog-umd-240x240.py'
model = dict(backbone=dict(num_cfe=0), neck=dict(num_layers=0))
