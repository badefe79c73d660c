# RISCLIP-B ablation (Sec. 4.4), stage 1: Table 5 (a): Adapters in the last 9 layers of each tower.
_base_ = './risclip-b_stage1_4xb8-50e_refcocog-umd-240x240.py'
model = dict(backbone=dict(adapter_layers=9))
