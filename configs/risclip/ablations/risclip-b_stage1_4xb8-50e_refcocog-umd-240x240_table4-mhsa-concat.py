# RISCLIP-B ablation (Sec. 4.4), stage 1: Table 4 (a): MHSA on the concatenated image and text tokens instead
# of the two MHCAs, in CFE and SKE.
_base_ = './risclip-b_stage1_4xb8-50e_refcocog-umd-240x240.py'
model = dict(
    backbone=dict(fusion='mhsa_concat'), neck=dict(fusion='mhsa_concat'))
