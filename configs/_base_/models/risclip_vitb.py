# RISCLIP-B (Kim et al., NAACL 2024), stage 1 ("Locator"): frozen open_clip
# ViT-B-16-plus-240 (LAION-400M weights) with Adapters in every layer of both
# towers and 6 CFE modules (RISCLIPBackbone), 6 SKE layers and the
# patch-level grounding map (SKENeck), and the Refiner decoder
# (RISCLIPHead), which is built here but trained in stage 2 only.
# Readings of what the paper leaves open: configs/risclip/README.md.
#
# CLIP weights: a local file, the open_clip state dict of
# 'ViT-B-16-plus-240' / 'laion400m_e32' (see configs/risclip/README.md).
# A missing file gives a warning and random weights.
clip_pretrained = 'checkpoints/clip/ViT-B-16-plus-240-laion400m_e32.pt'
# 640x640 input = 40x40 tokens of 16x16 patches (App. A.1)
crop_size = (640, 640)
# CLIP's mean / std in RGB order (OpenCLIP's LAION models use OpenAI's)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[122.7709383, 116.7460125, 104.09373615],
    std=[68.5005327, 66.6321579, 70.32316305],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=crop_size)
model = dict(
    # stage 1 trains the Adapters, CFE and attention temperatures (backbone;
    # CLIP's own weights are frozen inside it) and SKE + grounding
    # scale / bias (neck); the decoder is frozen until stage 2
    type='StagedRefSegmentor',
    trainable=('backbone', 'neck'),
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='RISCLIPBackbone',
        model_name='ViT-B-16-plus-240',
        pretrained=clip_pretrained,
        img_size=crop_size,
        context_length=77,  # CLIP's length, padded keys masked (A3)
        interpolate='bicubic',  # 15x15 -> 40x40 positions, once (A2)
        adapter_layers=None,  # every layer of both towers (Sec. 4.2)
        adapter_ratio=0.5,  # bottleneck 448 / 320 (Table A1)
        adapter_scale_init=0.6,  # Table A1
        attn_temperature=True,  # App. A.1 (A6)
        num_cfe=6,  # Table A1, pairs image / text layers 7-12
        cfe_dims=None,  # the shared width, 640 (Table A1)
        cfe_heads=None,  # 640 / 64 = 10 (Table A1)
        cfe_scale_init=0.5,  # Table A1
        fusion='mhca',  # Table 4 (a)
        out_indices=(0, 1, 2, 3),  # V_1..V_4 for the Refiner (Sec. 3.4)
        maskclip=True,  # MaskCLIP value path in the last layer (Sec. 3.1)
        freeze_clip=True),
    # widths and strides the backbone declares (output_spec()) are left out:
    # SKE runs in CLIP's shared space (640-d for B, 768-d for L), the
    # Refiner reads 896 (B) / 1024 (L) channels and ends at the input size
    neck=dict(
        type='SKENeck',
        num_layers=6,  # Table A1
        num_heads=8,  # Table A1
        mlp_ratio=4.0,  # A11
        scale_init=0.5,  # Table A1
        fusion='mhca',
        grounding_scale_init=10.0,  # A10
        grounding_bias_init=0.0),
    decode_head=dict(
        type='RISCLIPHead',
        channels=None,  # C_v / 2 = 448 (B) / 512 (L) (A15)
        in_index=(0, 1, 2, 3),
        stage='locator',
        target_downsample='area',  # soft patch-level mask (A17)
        norm_cfg=dict(type='BN'),
        act_cfg=dict(type='ReLU'),
        loss_decode=[
            dict(type='MaskDiceLoss', loss_weight=1.0),
            dict(type='MaskFocalLoss', alpha=0.65, gamma=2.0,
                 loss_weight=1.75)
        ]),
    train_cfg=dict(),
    # one foreground logit: sigmoid > 0.5 == argmax of fg against bg (A16)
    test_cfg=dict(threshold=0.5))
