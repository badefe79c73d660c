# Shared-RIS (Yu et al., "A Simple Baseline with Single-encoder for Referring
# Image Segmentation", arXiv 2408.15521) with BEiT-3 base: the multiway
# encoder over the joint image-text sequence at 480x480 (Sec. III-A, IV-A),
# the Shared FPN over stages {3, 6, 9, 12} with d_w = 512 (Eq. 6-7) and the
# Shared Mask Decoder with one shared transformer layer (Eq. 8-11); loss
# 2.0 * BCE + 0.5 * Dice (Eq. 12); threshold 0.35.
#
# `pretrained` is the official multimodal BEiT-3 file and `spm_path` its
# sentencepiece model, both local (see configs/shared_ris/README.md).
# Tests and random-weight runs: --cfg-options model.backbone.pretrained=None.
data_preprocessor = dict(
    type='SegDataPreProcessor',
    # BEiT-3's vision-language normalisation: mean = std = 0.5 (x 255)
    mean=[127.5, 127.5, 127.5],
    std=[127.5, 127.5, 127.5],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(480, 480))
model = dict(
    type='RefSegmentor',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='BEiT3',
        arch='base',
        img_size=480,
        # paper stages {3, 6, 9, 12} (0-based layer ids); stage 12 is the
        # encoder output after the final multiway LayerNorm
        out_indices=(2, 5, 8, 11),
        drop_path_rate=0.1,
        context_length=20,
        spm_path='checkpoints/beit3/beit3.spm',
        pretrained='checkpoints/beit3/beit3_base_patch16_224.pth'),
    neck=dict(
        type='SharedFPN',
        embed_dims=512,
        num_heads=8,
        # a vision and a text W_j per stage: Tab. IV / VII(a)'s 8M / 6M / 4M
        proj_per_modality=True),
    decode_head=dict(
        type='SharedMaskDecoder',
        embed_dims=512,
        num_layers=1,
        num_heads=8,
        mlp_ratio=4,
        num_upsamples=2,
        sentence_mlp_layers=2,
        norm_cfg=dict(type='BN'),
        loss_decode=[
            dict(type='MaskBCELoss', loss_weight=2.0),
            dict(type='MaskDiceLoss', loss_weight=0.5)
        ]),
    train_cfg=dict(),
    test_cfg=dict(threshold=0.35))
