"""The cross-modal neck of CRIS (Sec. 3.1, Eq. 1-4).

Layer layout of the public CRIS code (where the paper is silent): the
sentence feature enters only at the deepest level, through
Linear(no bias) + BN1d + ReLU (``W_s`` of Eq. 1); the pyramid is fused top
down (Eq. 2), the three levels are aggregated by a 1x1 convolution at
stride 16 (Eq. 3), and 2-D coordinates are concatenated before a 3x3
convolution, followed by one more 3x3 convolution (Eq. 4).
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_norm_layer
from torch import Tensor

from mmris.registry import MODELS
from mmris.structures import VLFeatures
from ..utils import SafeBatchNorm1d, concat_coord_feats
from .base_ris_neck import BaseRISNeck

__all__ = ['CRISNeck']


def _up_to(x: Tensor, ref: Tensor) -> Tensor:
    """Bilinear upsampling of ``x`` to the size of ``ref`` (2x in CRIS)."""
    return F.interpolate(
        x, size=ref.shape[-2:], mode='bilinear', align_corners=False)


@MODELS.register_module()
class CRISNeck(BaseRISNeck):
    """Cross-modal neck: F_v2, F_v3, F_v4 and F_s -> F_v (stride 16).

    Every conv is Conv(no bias) + norm + activation (``ConvModule``).

    Args:
        in_channels (Sequence[int]): Channels of (F_v2, F_v3, F_v4), strides
            8/16/32. Defaults to (512, 1024, 1024) (CLIP RN50).
        out_channels (int): Channels C of F_v. Defaults to 512.
        sentence_dims (int): Width of F_s. Defaults to 1024 (RN50).
        channels (Sequence[int], optional): Widths of the (stride 8, 16, 32)
            branches before fusion. Defaults to
            ``(out_channels // 2, out_channels, out_channels * 2)`` =
            (256, 512, 1024), the public code's.
        in_index (Sequence[int]): Which visual levels are F_v2, F_v3, F_v4.
            Defaults to (0, 1, 2).
        norm_cfg (dict): Norm of the conv layers (``SyncBN`` for multi-GPU).
        act_cfg (dict): Activation. Defaults to ReLU.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: Sequence[int] = (512, 1024, 1024),
                 out_channels: int = 512,
                 sentence_dims: int = 1024,
                 channels: Optional[Sequence[int]] = None,
                 in_index: Sequence[int] = (0, 1, 2),
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(in_channels) != 3 or len(in_index) != 3:
            raise ValueError('CRISNeck fuses three levels (strides 8, 16, '
                             f'32); got in_channels={in_channels}, '
                             f'in_index={in_index}')
        if channels is None:
            channels = (out_channels // 2, out_channels, out_channels * 2)
        c2, c3, c4 = channels
        in2, in3, in4 = in_channels
        self.in_index = tuple(in_index)
        self.out_channels = out_channels

        def conv(cin: int, cout: int, k: int, act: bool = True) -> ConvModule:
            return ConvModule(
                cin,
                cout,
                k,
                padding=k // 2,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg if act else None)

        # Eq. 1: sigma(F_s W_s) and F_v4 W_v4; the product is normalised and
        # activated (BN + ReLU) as in the public code.
        norm1d = dict(norm_cfg)
        if norm1d['type'] == 'BN':
            # BN1d that also trains on a (per-GPU) batch of one sample
            norm1d['type'] = SafeBatchNorm1d
        self.sentence_proj = nn.Sequential(
            nn.Linear(sentence_dims, c4, bias=False),
            build_norm_layer(norm1d, c4)[1], nn.ReLU(inplace=True))
        self.v4_proj = conv(in4, c4, 1)
        self.fuse_norm = nn.Sequential(
            build_norm_layer(norm_cfg, c4)[1], nn.ReLU(inplace=True))
        # Eq. 2: F_m3 = [sigma(F_m4 W_m4), sigma(F_v3 W_v3)] -> 1x1 conv
        self.v3_proj = conv(in3, c3, 3)
        self.m3_fuse = conv(c4 + c3, c3, 1)
        # Eq. 2: F_m2 = [sigma(F_m3 W_m3), sigma(Avg(F_v2) W_v2)] -> 1x1 conv
        self.v2_proj = conv(in2, c2, 3)
        self.m2_fuse = conv(c2 + c3, c3, 1)
        # Eq. 3: F_m = Conv([F_m2, F_m3, F_m4])
        self.agg_proj2 = conv(c3, out_channels, 3)
        self.agg_proj3 = conv(c3, out_channels, 3)
        self.agg_proj4 = conv(c4, out_channels, 3)
        self.aggregate = conv(3 * out_channels, out_channels, 1)
        # Eq. 4: F_v = Conv([F_m, F_coord]) (then one more 3x3 conv)
        self.coord_conv = conv(out_channels + 2, out_channels, 3)
        self.out_conv = conv(out_channels, out_channels, 3)

    def forward(self, feats: VLFeatures) -> VLFeatures:
        """Fuse the sentence into the visual pyramid.

        Args:
            feats (VLFeatures): ``visual`` holds F_v2, F_v3, F_v4 at
                ``in_index`` (strides 8/16/32); ``sentence`` is F_s.

        Returns:
            VLFeatures: The same container with ``visual=[F_v]``,
            F_v (B, out_channels, H/16, W/16).
        """
        v2, v3, v4 = (feats.visual[i] for i in self.in_index)
        state = self.sentence_proj(feats.sentence)[..., None, None]
        # Eq. 1 (before the upsampling, which the public code applies when
        # concatenating with the stride-16 level).
        m4 = self.fuse_norm(self.v4_proj(v4) * state)
        # Eq. 2
        m3 = self.m3_fuse(torch.cat([self.v3_proj(v3), _up_to(m4, v3)], 1))
        p2 = F.avg_pool2d(self.v2_proj(v2), 2, 2)
        m2 = self.m2_fuse(torch.cat([p2, m3], 1))
        # Eq. 3
        a4 = self.agg_proj4(m4)
        fm = self.aggregate(
            torch.cat([self.agg_proj2(m2),
                       self.agg_proj3(m3),
                       _up_to(a4, m3)], 1))
        # Eq. 4
        fv = self.out_conv(self.coord_conv(concat_coord_feats(fm)))
        return feats.replace(visual=[fv])
