# RISCLIP-L, stage 1: RISCLIP-B's model (risclip_vitb.py) on open_clip
# ViT-L-14-336-quickgelu with OpenAI's weights at 560x560 (40x40 tokens of
# 14x14 patches); CFE pairs image layers 19-24 with text layers 7-12; the
# shared space is 768-d (CFE: 12 heads); the Refiner reads 1024-d maps,
# 512 hidden, and ends at 560 (A14). Those widths follow from the backbone
# (output_spec()).
_base_ = './risclip_vitb.py'
clip_pretrained = 'checkpoints/clip/ViT-L-14-336px.pt'
crop_size = (560, 560)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        model_name='ViT-L-14-336-quickgelu',
        pretrained=clip_pretrained,
        img_size=crop_size))
