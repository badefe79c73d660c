"""CRIS head: vision-language decoder, projectors, text-to-pixel loss.

Implements CRIS Sec. 3.2-3.3: the decoder of Eq. 5-7
(:class:`CRISDecoder`), the image and text projectors of Eq. 8 and the
text-to-pixel contrastive loss of Eq. 9-10.

Eq. 8 in the public code: the image projector upsamples F_c from stride 16 to
4 as up2 -> conv3x3 -> up2 -> conv3x3 -> conv1x1 (z_v, D = ``proj_channels``
channels); the text projector is one Linear from F_s to ``D*k*k + 1`` values,
read as a per-sample k x k convolution kernel and a bias, so the score map is
a dynamic convolution of z_v. ``kernel_size=1`` is exactly the paper's dot
product ``z_t . z_v`` (plus a scalar bias); ``kernel_size=3`` is the public
code (needed to load its checkpoints).

Eq. 9-10 (sigmoid BCE of ``z_t . z_v`` over all pixels P u N against the
mask at stride 4) is the default ``loss_decode=dict(type='MaskBCELoss')``:
:class:`BaseRISHead` resizes the mask to the logits (nearest).
"""
from typing import Optional, Sequence, Union

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch import Tensor

from mmris.registry import MODELS
from mmris.structures import FeatureSpec, VLFeatures, resolve_arg
from .base_ris_head import BaseRISHead
from .cris_decoder import CRISDecoder

__all__ = ['CRISHead']


@MODELS.register_module()
class CRISHead(BaseRISHead):
    """Vision-language decoder + text-to-pixel projector of CRIS.

    Args:
        in_channels (int, optional): Channels C of F_v (the neck output;
            512 in CRIS). Taken from ``in_spec`` when left out.
        word_dims (int, optional): Width of the word features F_t (512).
            Taken from ``in_spec`` when left out.
        sentence_dims (int, optional): Width of F_s (1024 RN50, 512 RN101).
            Taken from ``in_spec`` when left out.
        num_layers (int): Decoder layers n (Table 1); 0 = no decoder (the
            paper's "w/o Dec." rows). Defaults to 3.
        num_heads (int): Attention heads. Defaults to 8.
        ffn_dims (int): MLP hidden width. Defaults to 2048.
        dropout (float): Decoder dropout. Defaults to 0.1.
        proj_channels (int): Projection width D of Eq. 8. Defaults to 256.
        kernel_size (int): Size of the sentence-generated kernel (3 = public
            code, 1 = the paper's dot product). Defaults to 3.
        projector (bool): Text projector and text-to-pixel score (Eq. 8-9).
            False builds the "w/o Con." baseline of Table 1: the same image
            projector followed by a learned, text-independent conv
            (``kernel_size``) to one logit. Defaults to True.
        in_index (int): Visual level read. Defaults to -1.
        norm_cfg (dict): Norm of the projector convs. Defaults to BN.
        act_cfg (dict): Activation of the projector convs. Defaults to ReLU.
        loss_decode (dict | list[dict]): Loss configs; default is Eq. 9-10.
        align_corners (bool): Used when resizing logits to the input.
        in_spec (FeatureSpec, optional): Declared input (set by
            :class:`RefSegmentor`); fills and checks the three widths.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: Optional[int] = None,
                 word_dims: Optional[int] = None,
                 sentence_dims: Optional[int] = None,
                 num_layers: int = 3,
                 num_heads: int = 8,
                 ffn_dims: int = 2048,
                 dropout: float = 0.1,
                 proj_channels: int = 256,
                 kernel_size: int = 3,
                 projector: bool = True,
                 in_index: int = -1,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU'),
                 loss_decode: Union[dict, Sequence[dict]] = dict(
                     type='MaskBCELoss'),
                 align_corners: bool = False,
                 in_spec: Optional[FeatureSpec] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            loss_decode=loss_decode,
            align_corners=align_corners,
            init_cfg=init_cfg)
        spec = in_spec
        in_channels = resolve_arg(
            'CRISHead', 'in_channels', in_channels,
            spec.level(in_index).channels if spec else None)
        word_dims = resolve_arg('CRISHead', 'word_dims', word_dims,
                                spec.word_dims if spec else None)
        sentence_dims = resolve_arg('CRISHead', 'sentence_dims',
                                    sentence_dims,
                                    spec.sentence_dims if spec else None)
        if kernel_size % 2 != 1:
            raise ValueError(f'kernel_size must be odd, got {kernel_size}')
        self.in_index = in_index
        self.num_layers = num_layers
        self.kernel_size = kernel_size
        self.proj_channels = proj_channels
        self.decoder = CRISDecoder(
            num_layers, in_channels, num_heads, ffn_dims, dropout,
            word_dims) if num_layers > 0 else None
        # Eq. 8, image projector: F'_c = Up(F_c) (x4), z_v = F'_c W_v + b_v
        self.vis_proj = nn.Sequential(
            nn.Upsample(scale_factor=2, mode='bilinear', align_corners=False),
            ConvModule(
                in_channels,
                in_channels,
                3,
                padding=1,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg),
            nn.Upsample(scale_factor=2, mode='bilinear', align_corners=False),
            ConvModule(
                in_channels,
                proj_channels,
                3,
                padding=1,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg),
            nn.Conv2d(proj_channels, proj_channels, 1))
        self.projector = projector
        if projector:
            # Eq. 8, text projector: z_t = F_s W_t + b_t (a k x k kernel and
            # a bias per sample).
            self.txt_proj = nn.Linear(
                sentence_dims, proj_channels * kernel_size * kernel_size + 1)
        else:
            self.conv_seg = nn.Conv2d(
                proj_channels, 1, kernel_size, padding=kernel_size // 2)

    def decode(self, feats: VLFeatures) -> Tensor:
        """F_c (B, C, H/16, W/16): the decoder output (Eq. 5-7)."""
        fv = feats.visual[self.in_index]
        if self.decoder is None:
            return fv
        return self.decoder(fv, feats.words, feats.word_pad_mask)

    def text_to_pixel(self, z_v: Tensor, sentence: Tensor) -> Tensor:
        """Score ``z_t * z_v`` with the sentence-generated kernel (Eq. 8-9).

        Args:
            z_v (Tensor): (B, D, h, w) projected pixels.
            sentence (Tensor): (B, C_s) sentence features F_s.

        Returns:
            Tensor: (B, 1, h, w) logits.
        """
        b, d, h, w = z_v.shape
        z_t = self.txt_proj(sentence)
        weight = z_t[:, :-1].reshape(b, d, self.kernel_size, self.kernel_size)
        bias = z_t[:, -1]
        out = F.conv2d(
            z_v.reshape(1, b * d, h, w),
            weight,
            bias=bias,
            padding=self.kernel_size // 2,
            groups=b)
        return out.reshape(b, 1, h, w)

    def forward(self, feats: VLFeatures) -> Tensor:
        """Mask logits at stride 4.

        Args:
            feats (VLFeatures): ``visual[in_index]`` is F_v (B, C, H/16,
                W/16); ``words``, ``word_pad_mask``, ``sentence`` from the
                backbone.

        Returns:
            Tensor: (B, 1, H/4, W/4) logits ``z_t . z_v``.
        """
        z_v = self.vis_proj(self.decode(feats))
        if self.projector:
            return self.text_to_pixel(z_v, feats.sentence)
        return self.conv_seg(z_v)
