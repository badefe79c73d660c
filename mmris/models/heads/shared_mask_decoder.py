"""The Shared Vision-Language Mask Decoder of Shared-RIS (Sec. III-C).

Eq. 8-9: one pre-LN transformer layer with a shared self-attention and a
single shared MLP over the joint sequence z (vision tokens first):
``u' = MSA(LN(z)) + z``, ``u = MLP(LN(u')) + u'``. The result is split into
v_u and t_u; the patch tokens of v_u form F_0 (B, d_w, h, w). Eq. 10:
``F_i = Conv_i(Upsample_i(F_{i-1}))`` for i = 1..l (l = 2: bilinear x2, then
conv3x3 + BN + ReLU), so F_l is at stride 4. Eq. 11: the text CLS of t_u is
updated by an MLP and dotted with every pixel of F_l:
``M = sigmoid(F_l . MLP(t_u^cls))``; the head returns the logits
``F_l . MLP(t_u^cls)`` (B, 1, H/4, W/4). Loss (Eq. 12, Sec. IV-A):
2.0 * BCE + 0.5 * Dice, set in the configs' ``loss_decode``.

The head builds z itself from ``visual[in_index]`` (plus its CLS when the
input has one) and ``words``, so it runs after the Shared FPN (native), with
no neck (S Tab. III / IV "No FPN": the widths are projected to d_w by a
per-modality linear layer), or after any other neck or backbone.
``num_layers=0`` is S Tab. V / VIII's "No Fusion" decoder.

Defaults where the paper is silent (see configs/shared_ris/README.md): 8
heads, MLP ratio 4 with GELU, a 2-layer ReLU MLP on t_u^cls, the sentence
token at the producer's ``sentence_index`` (BEiT-3's text CLS, index 0).
"""
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from torch import Tensor

from mmris.registry import MODELS
from mmris.structures import VLFeatures, resolve_arg
from mmris.models.layers import JointAttention
from ..necks.shared_fpn import joint_pad_mask, sentence_positions
from .base_ris_head import BaseRISHead

__all__ = ['SharedMaskDecoder', 'SharedTransformerLayer']


class SharedTransformerLayer(nn.Module):
    """Pre-LN layer with one shared MSA and one shared MLP (Eq. 8-9).

    Args:
        embed_dims (int): Width d_w.
        num_heads (int): Attention heads.
        mlp_ratio (float): MLP hidden width / d_w.
        fusion (str): 'self' (Eq. 8), or Tab. VIII(b)'s 'cross' /
            'bidirectional' (:class:`~mmris.models.layers.JointAttention`).
        dropout (float): Dropout in attention and MLP. Defaults to 0.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 mlp_ratio: float = 4.0,
                 fusion: str = 'self',
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.fusion = JointAttention(embed_dims, num_heads, fusion, dropout)
        self.norm = nn.LayerNorm(embed_dims)
        hidden = int(embed_dims * mlp_ratio)
        self.mlp = nn.Sequential(
            nn.Linear(embed_dims, hidden), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(hidden, embed_dims), nn.Dropout(dropout))

    def forward(self, x: Tensor, num_visual: int,
                key_padding_mask: Tensor) -> Tensor:
        """(B, N, d) joint tokens (``num_visual`` vision tokens first), bool
        (B, N) True at padding -> (B, N, d)."""
        x = self.fusion(x, num_visual, key_padding_mask)
        return x + self.mlp(self.norm(x))


@MODELS.register_module()
class SharedMaskDecoder(BaseRISHead):
    """Shared Mask Decoder: joint tokens -> mask logits at stride 4.

    Args:
        in_channels (int, optional): Width of ``visual[in_index]``; taken
            from ``in_spec`` when omitted.
        word_dims (int, optional): Width of ``words``; from ``in_spec``.
        embed_dims (int): d_w. Inputs of another width are projected by a
            linear layer per modality. Defaults to 512.
        in_index (int): Visual level decoded. Defaults to -1.
        num_layers (int): Shared transformer layers (Tab. VIII(a); 0 = "No
            Fusion"). Defaults to 1.
        num_heads (int): Attention heads. Defaults to 8.
        mlp_ratio (float): MLP ratio of the layer. Defaults to 4.
        num_upsamples (int): l of Eq. 10. Defaults to 2.
        use_cls (bool): Put the level's vision CLS first when the input has
            one. Defaults to True.
        sentence_mlp_layers (int): Linear layers of the t_u^cls MLP (ReLU
            between). Defaults to 2.
        sentence_token (str): 'auto' / 'first' / 'last' (see
            :func:`~mmris.models.necks.shared_fpn.sentence_positions`).
        fusion (str): Attention of the shared layers: 'self' (Eq. 8) or
            Tab. VIII(b)'s 'cross' / 'bidirectional'. Defaults to 'self'.
        norm_cfg (dict): Norm of the Eq. 10 convs. Defaults to BN.
        act_cfg (dict): Activation of the Eq. 10 convs. Defaults to ReLU.
        loss_decode (dict | list[dict]): Losses; Shared-RIS uses
            ``MaskBCELoss(loss_weight=2.0)`` and
            ``MaskDiceLoss(loss_weight=0.5)`` (the default).
        align_corners (bool): Used when resizing logits.
        in_spec (FeatureSpec, optional): Declared input.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: Optional[int] = None,
                 word_dims: Optional[int] = None,
                 embed_dims: int = 512,
                 in_index: int = -1,
                 num_layers: int = 1,
                 num_heads: int = 8,
                 mlp_ratio: float = 4.0,
                 num_upsamples: int = 2,
                 use_cls: bool = True,
                 sentence_mlp_layers: int = 2,
                 sentence_token: str = 'auto',
                 fusion: str = 'self',
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU'),
                 loss_decode: Union[dict,
                                    Sequence[dict]] = (dict(type='MaskBCELoss',
                                                            loss_weight=2.0),
                                                       dict(
                                                           type='MaskDiceLoss',
                                                           loss_weight=0.5)),
                 align_corners: bool = False,
                 in_spec=None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(loss_decode=list(loss_decode) if isinstance(
            loss_decode, tuple) else loss_decode,
                         align_corners=align_corners,
                         init_cfg=init_cfg)
        derived_v = derived_w = None
        if in_spec is not None:
            derived_v = in_spec.level(in_index).channels
            derived_w = in_spec.word_dims
        in_channels = resolve_arg('SharedMaskDecoder', 'in_channels',
                                  in_channels, derived_v)
        word_dims = resolve_arg('SharedMaskDecoder', 'word_dims', word_dims,
                                derived_w)
        if num_layers < 0 or num_upsamples < 0 or sentence_mlp_layers < 1:
            raise ValueError(
                'SharedMaskDecoder: num_layers and num_upsamples must be >= 0 '
                f'and sentence_mlp_layers >= 1, got {num_layers}, '
                f'{num_upsamples}, {sentence_mlp_layers}')
        if sentence_token not in ('auto', 'first', 'last'):
            raise ValueError("sentence_token must be 'auto', 'first' or "
                             f"'last', got {sentence_token!r}")
        self.in_channels, self.word_dims = in_channels, word_dims
        self.embed_dims = embed_dims
        self.in_index = in_index
        self.use_cls = use_cls
        self.sentence_token = sentence_token
        self.visual_proj = (nn.Linear(in_channels, embed_dims)
                            if in_channels != embed_dims else nn.Identity())
        self.word_proj = (nn.Linear(word_dims, embed_dims)
                          if word_dims != embed_dims else nn.Identity())
        self.layers = nn.ModuleList([
            SharedTransformerLayer(embed_dims, num_heads, mlp_ratio, fusion)
            for _ in range(num_layers)
        ])
        # Eq. 10: bilinear x2, then conv3x3 + BN + ReLU, l times
        self.upsamples = nn.ModuleList([
            nn.Sequential(
                nn.Upsample(scale_factor=2,
                            mode='bilinear',
                            align_corners=align_corners),
                ConvModule(embed_dims,
                           embed_dims,
                           3,
                           padding=1,
                           norm_cfg=norm_cfg,
                           act_cfg=act_cfg)) for _ in range(num_upsamples)
        ])
        # Eq. 11: t'_cls = MLP(t_u^cls)
        mlp = []
        for i in range(sentence_mlp_layers):
            if i:
                mlp.append(nn.ReLU(inplace=True))
            mlp.append(nn.Linear(embed_dims, embed_dims))
        self.sentence_mlp = nn.Sequential(*mlp)

    def forward(self, feats: VLFeatures) -> Tensor:
        """Mask logits (Eq. 8-11).

        Args:
            feats (VLFeatures): ``visual[in_index]`` (B, C, h, w), optional
                ``visual_cls``, ``words`` (B, L, C_t), ``word_pad_mask``.

        Returns:
            Tensor: (B, 1, h * 2^l, w * 2^l) logits.
        """
        fmap = feats.visual[self.in_index]
        b, _, h, w = fmap.shape
        tokens = fmap.flatten(2).transpose(1, 2)
        with_cls = self.use_cls and feats.visual_cls is not None
        if with_cls:
            tokens = torch.cat(
                [feats.visual_cls[self.in_index][:, None], tokens], dim=1)
        num_visual = tokens.shape[1]
        z = torch.cat([self.visual_proj(tokens),
                       self.word_proj(feats.words)],
                      dim=1)
        pad = joint_pad_mask(feats.word_pad_mask, num_visual)
        for layer in self.layers:
            z = layer(z, num_visual, pad)
        fmap = z[:, int(with_cls):num_visual].transpose(1, 2).reshape(
            b, self.embed_dims, h, w)
        for up in self.upsamples:
            fmap = up(fmap)
        words = z[:, num_visual:]
        index = sentence_positions(feats, self.sentence_token)
        sentence = self.sentence_mlp(words[torch.arange(b, device=z.device),
                                           index])
        return torch.einsum('bchw,bc->bhw', fmap, sentence)[:, None]
