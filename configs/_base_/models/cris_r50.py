# CRIS (Wang et al., "CRIS: CLIP-Driven Referring Image Segmentation",
# CVPR 2022) with the CLIP ResNet-50 image encoder and the CLIP text
# transformer, both fine-tuned. Channels follow the paper's public code:
# visual features at strides 8/16/32 with 512/1024/1024 channels (the last
# one from the dense attention pool), 512-d word features, 1024-d sentence
# feature; a 3-layer vision-language decoder (8 heads, FFN 2048) and the
# projector's per-sample dynamic 3x3 convolution at stride 4.
#
# `pretrained` is a local CLIP checkpoint (no download at run time); see
# configs/cris/README.md for how to obtain it. Tests and random-weight runs
# use `--cfg-options model.backbone.pretrained=None`.
data_preprocessor = dict(
    type='SegDataPreProcessor',
    # CLIP mean / std (RGB, 0-255); images are loaded as BGR
    mean=[122.7709383, 116.7460125, 104.09373615],
    std=[68.5005327, 66.6321579, 70.32316305],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(416, 416))
model = dict(
    type='RefSegmentor',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='CLIPResNet',
        model_name='RN50',
        pretrained='checkpoints/clip/RN50.pt',
        # 17 words for RefCOCO / RefCOCO+, 22 for RefCOCOg (set per dataset)
        context_length=17),
    neck=dict(
        type='CRISNeck',
        in_channels=(512, 1024, 1024),
        out_channels=512,
        sentence_dims=1024),
    decode_head=dict(
        type='CRISHead',
        in_channels=512,
        word_dims=512,
        sentence_dims=1024,
        num_layers=3,
        num_heads=8,
        ffn_dims=2048,
        dropout=0.1,
        proj_channels=256,
        kernel_size=3,
        loss_decode=dict(type='MaskBCELoss')),
    train_cfg=dict(),
    # sigmoid(logits) > 0.35 at the original resolution (Sec. 4.2)
    test_cfg=dict(threshold=0.35))
