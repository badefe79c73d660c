# RISCLIP-B ablation (Sec. 4.4), stage 1: Table 4 (a): MHCA with the concatenation: each stream queries the
# concatenated image and text tokens, in CFE and SKE.
_base_ = './risclip-b_stage1_4xb8-50e_refcocog-umd-240x240.py'
model = dict(
    backbone=dict(fusion='mhca_concat'), neck=dict(fusion='mhca_concat'))
