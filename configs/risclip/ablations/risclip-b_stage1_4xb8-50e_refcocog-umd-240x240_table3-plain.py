# RISCLIP-B ablation (Sec. 4.4), stage 1: Table 3, row 1: plain frozen CLIP, the zero-shot MaskCLIP grounding
# (no Adapters, CFE or SKE); stage 1 trains only the grounding scale / bias,
# stage 2 the decoder ("with an upsampling decoder attached", Sec. 2).
_base_ = './risclip-b_stage1_4xb8-50e_refcocog-umd-240x240.py'
model = dict(
    backbone=dict(adapter_layers=0, num_cfe=0), neck=dict(num_layers=0))
