# CRIS (Wang et al., "CRIS: CLIP-Driven Referring Image Segmentation",
# CVPR 2022) with the CLIP ResNet-101 image encoder and the CLIP text
# transformer, both fine-tuned. Channels follow the paper's public code:
# visual features at strides 8/16/32 with 512/1024/512 channels (the last
# one from the dense attention pool), 512-d word features, 512-d sentence
# feature; a 3-layer vision-language decoder (8 heads, FFN 2048) and the
# projector's per-sample dynamic 3x3 convolution at stride 4.
#
# `pretrained` is a local CLIP checkpoint (no download at run time); see
# configs/cris/README.md for how to obtain it. Tests and random-weight runs
# use `--cfg-options model.backbone.pretrained=None`.
_base_ = './cris_r50.py'
model = dict(
    backbone=dict(
        model_name='RN101', pretrained='checkpoints/clip/RN101.pt'),
    neck=dict(in_channels=(512, 1024, 512), sentence_dims=512),
    decode_head=dict(sentence_dims=512))
