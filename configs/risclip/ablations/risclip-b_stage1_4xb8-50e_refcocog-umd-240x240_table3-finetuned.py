# RISCLIP-B ablation (Sec. 4.4), stage 1: Table 3, last row: CLIP fine-tuned together with the modules.
_base_ = './risclip-b_stage1_4xb8-50e_refcocog-umd-240x240.py'
model = dict(backbone=dict(freeze_clip=False))
