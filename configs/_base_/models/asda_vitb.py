# ASDA (ACM MM 2024): CLIP ViT-B/16 (both towers fine-tuned) -> AFS + SFA
# neck (Eq. 1-5) -> WGDA head (Eq. 6-10), BCE + dice loss.
#
# This is the authors' public model (swagger-coder/ASDA at 97bc06c, which
# produced the paper's numbers) module for module: a checkpoint of the
# public code converted with tools/model_converters/asda2mmris.py loads with
# no missing or unexpected key and gives its outputs. The one change is the
# layer selector: straight-through (its forward pass picks exactly the
# argmax the public code picks, but the selector trains; the public argmax
# never trains it). Where the paper's text reads differently (sigmoid
# response masks, masked padding, focal alpha 0.25 / gamma 2, the final
# sentence feature in Eq. 1, pre-norm attention) see
# configs/asda/asda_vitb-paper_refcoco.py and configs/asda/README.md.
#
# CLIP weights: a local file, the state dict of open_clip's
# 'ViT-B-16-quickgelu' with the 'openai' weights (OpenAI's release uses
# QuickGELU); nothing is downloaded at run time. See configs/asda/README.md
# ("CLIP weights") for how to make it once. Random weights (tests,
# debugging): --cfg-options model.backbone.pretrained=None
clip_pretrained = 'checkpoints/clip/ViT-B-16.pt'
# 416x416 input = 26x26 tokens of 16x16 patches (Sec. 4.2)
crop_size = (416, 416)
# CLIP's mean / std in RGB order; images are loaded as BGR
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[122.7709383, 116.7460125, 104.09373615],
    std=[68.5005327, 66.6321579, 70.32316305],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=crop_size)
model = dict(
    type='RefSegmentor',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='CLIPViT',
        model_name='ViT-B-16-quickgelu',
        pretrained=clip_pretrained,
        img_size=crop_size,
        # 17 tokens for RefCOCO / RefCOCO+, 22 for RefCOCOg, with SOS / EOS
        context_length=17,
        # 0-based layer ids: paper layers 4-6 (low candidates), 7-9 (mid
        # candidates) and 12 (top); neck indices below are positions in
        # this tuple
        out_indices=(3, 4, 5, 6, 7, 8, 11),
        # ASDA uses the 512-d EOT feature without CLIP's text projection
        project_sentence=False,
        # per-layer text EOT tokens (before ln_final) for the layer selection
        sentence_levels=True),
    neck=dict(
        type='ASDANeck',
        in_channels=768,
        text_dims=512,
        out_channels=512,
        fusion_channels=768,  # the public code's fusion_dim
        low_candidates=(0, 1, 2),
        mid_candidates=(3, 4, 5),
        high_index=6,
        # learnable hard selection whose forward pass is the public code's
        # argmax (which never trains the selector); 'argmax' = public code
        selection='straight_through',
        # Eq. 1 text feature: the text tower's EOT after the same layer
        # (public code); 'sentence' = final f_E (paper's text)
        selection_text='layer',
        selector_type='linear',  # Table 5: Linear is best
        use_sfa=True,
        sfa_scales=(1, 2, 4),
        # the public code's conv blocks: BN (momentum 0.999) + LeakyReLU(0.1)
        norm_cfg=dict(type='BN', momentum=0.999),
        act_cfg=dict(type='LeakyReLU', negative_slope=0.1)),
    decode_head=dict(
        type='WGDAHead',
        in_channels=512,
        word_dims=512,
        num_prototypes=32,  # N_c (Table 4)
        num_layers=2,  # n (Table 3)
        num_heads=8,
        ffn_dims=512,  # CFS attention MLP
        wcg_ffn_dims=2048,  # WCG cross-attention MLP
        # post-norm layers + final LayerNorm (public code); True = pre-norm
        norm_first=False,
        # Eq. 10: response masks (CFS) weighted by word-guided coefficients
        # (WCG); Table 2 (e) is dual_branch=False, (a)-(d) also
        # use_words=False
        dual_branch=True,
        use_words=True,
        # the public code attends to padded words too (paper: masked)
        mask_padding=False,
        # F_coarse token grid for WCG's flatten + Linear: 416 / 16
        feat_size=26,
        # ReLU on the response masks (public code; Eq. 7: sigmoid)
        prototype_act='relu',
        dropout=0.1,
        norm_cfg=dict(type='BN', momentum=0.999),
        act_cfg=dict(type='LeakyReLU', negative_slope=0.1),
        # the public code's "focal" loss has alpha=-1, gamma=0 (plain BCE);
        # the paper: focal + dice
        loss_decode=[
            dict(type='MaskFocalLoss', alpha=-1, gamma=0, loss_weight=1.0),
            dict(type='MaskDiceLoss', loss_weight=1.0)
        ]),
    train_cfg=dict(),
    test_cfg=dict(threshold=0.35))
