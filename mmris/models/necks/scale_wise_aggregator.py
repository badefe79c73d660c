"""Sentence fusion and Scale-wise Feature Aggregator of ASDA (Sec. 3.3).

Built as the authors' public code builds them (swagger-coder/ASDA at
97bc06c), which produced the paper's numbers:

* :class:`GlobalLocalFusion` - Eq. 4, ``F_G = F_H * f_E`` at every position
  of the top-layer map (``model/model.py`` 18-59)::

      F_G = LReLU(BN(ConvModule_1x1(F_H) * LReLU(BN1d(Linear(f_E)))))

  where ``ConvModule_1x1`` is conv (no bias) + BN + LeakyReLU(0.1) and the
  Linear has a bias.
* :class:`ScaleWiseAggregator` - Eq. 5 (``model/modules.py`` 8-88). Each
  input gets its own stage: ``log2(s)`` stride-2 transposed convolutions
  (channels halved each time, BN + GELU between two of them) up-sample it by
  ``s`` (F_G x1, F_M x2, F_L x4: 26, 52, 104 at 416 input; the paper's text
  calls these the "down-sampled" features F~), then a 1x1 and a 3x3
  ConvModule project it to ``out_channels``. A top-down path (1x1 lateral
  ConvModules, nearest x2 up-sampling, sums) runs from F_G to the finest
  level; a 3x3 ConvModule smooths the finest sum and a max-pool brings it
  back to the grid of F_G (F_coarse).
* :class:`ConcatFusion` - the "without SFA" ablation (Table 2 (b), (c)):
  F_L, F_M and F_G at the same resolution, concatenated and projected as in
  CRIS (1x1 then 3x3 ConvModule); with no low / mid map (Table 2 (a)
  baseline) only F_G is projected. Not in the public code.
"""
import math
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_norm_layer
from torch import Tensor

from mmris.models.utils import SafeBatchNorm1d

__all__ = ['GlobalLocalFusion', 'ScaleWiseAggregator', 'ConcatFusion']

#: The public code's conv blocks: BN (its momentum 0.999) + LeakyReLU(0.1).
PUBLIC_NORM_CFG = dict(type='BN', momentum=0.999)
PUBLIC_ACT_CFG = dict(type='LeakyReLU', negative_slope=0.1)


class GlobalLocalFusion(nn.Module):
    """Eq. 4: fuse the sentence feature into the top-layer map.

    Args:
        in_channels (int): Channels C_v of F_H.
        text_dims (int): Width C_t of f_E.
        out_channels (int, optional): Channels of F_G; defaults to
            ``in_channels`` (the public code's ``fusion_dim`` 768).
        norm_cfg (dict): Norm of the 1x1 ConvModule on F_H.
        act_cfg (dict): Activation of the ConvModule, of the text projection
            and after the product.
    """

    def __init__(self,
                 in_channels: int,
                 text_dims: int,
                 out_channels: Optional[int] = None,
                 norm_cfg: dict = PUBLIC_NORM_CFG,
                 act_cfg: dict = PUBLIC_ACT_CFG) -> None:
        super().__init__()
        out_channels = out_channels or in_channels
        self.out_channels = out_channels
        self.vis_proj = ConvModule(
            in_channels, out_channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        act = dict(act_cfg)
        act_type = act.pop('type')
        self.txt_proj = nn.Sequential(
            nn.Linear(text_dims, out_channels),
            SafeBatchNorm1d(out_channels), getattr(nn, act_type)(**act))
        self.norm_act = nn.Sequential(
            nn.BatchNorm2d(out_channels), getattr(nn, act_type)(**act))

    def forward(self, top: Tensor, sentence: Tensor) -> Tensor:
        """(B, C_v, H, W), (B, C_t) -> F_G (B, C_out, H, W)."""
        text = self.txt_proj(sentence)[:, :, None, None]
        return self.norm_act(self.vis_proj(top) * text)


class _SFALevel(nn.Module):
    """One input of SFA: up-sample by ``scale`` then 1x1 + 3x3 ConvModule."""

    def __init__(self, in_channels: int, out_channels: int, scale: int,
                 norm_cfg: dict, act_cfg: dict) -> None:
        super().__init__()
        steps = _log2(scale)
        layers: List[nn.Module] = []
        channels = in_channels
        for j in range(steps):
            if j > 0:
                layers += [build_norm_layer(norm_cfg, channels)[1], nn.GELU()]
            if channels % 2:
                raise ValueError(f'SFA halves the channels per x2 step; '
                                 f'{channels} is odd')
            layers.append(
                nn.ConvTranspose2d(channels, channels // 2, 2, stride=2))
            channels //= 2
        self.up = nn.Sequential(*layers)
        self.proj = ConvModule(
            channels, out_channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv = ConvModule(
            out_channels,
            out_channels,
            3,
            padding=1,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)

    def forward(self, x: Tensor) -> Tensor:
        """(B, C_in, H, W) -> (B, C_out, sH, sW)."""
        return self.conv(self.proj(self.up(x)))


class ScaleWiseAggregator(nn.Module):
    """Eq. 5: multi-scale F_G, F_M, F_L aggregated to F_coarse.

    Args:
        in_channels (Sequence[int]): Channels of the inputs, coarse to fine
            (F_G, F_M, F_L); public code: (768, 768, 768).
        out_channels (int): Channels of F_coarse. Defaults to 512.
        scales (Sequence[int]): Up-sampling of each input (powers of two,
            increasing by x2 from one input to the next). Defaults to
            (1, 2, 4).
        norm_cfg (dict): Norm of every ConvModule and of the BN between two
            transposed convolutions.
        act_cfg (dict): Activation of every ConvModule.
    """

    def __init__(self,
                 in_channels: Sequence[int] = (768, 768, 768),
                 out_channels: int = 512,
                 scales: Sequence[int] = (1, 2, 4),
                 norm_cfg: dict = PUBLIC_NORM_CFG,
                 act_cfg: dict = PUBLIC_ACT_CFG) -> None:
        super().__init__()
        scales = tuple(int(s) for s in scales)
        if len(in_channels) != len(scales) or len(scales) < 2:
            raise ValueError(f'SFA needs one scale per input (>= 2), got '
                             f'in_channels={tuple(in_channels)}, '
                             f'scales={scales}')
        if any(b != 2 * a for a, b in zip(scales, scales[1:])):
            raise ValueError(f'SFA scales must double from one input to the '
                             f'next, got {scales}')
        self.scales = scales
        self.levels = nn.ModuleList([
            _SFALevel(c, out_channels, s, norm_cfg, act_cfg)
            for c, s in zip(in_channels, scales)
        ])
        self.lateral_convs = nn.ModuleList([
            ConvModule(
                out_channels, out_channels, 1, norm_cfg=norm_cfg,
                act_cfg=act_cfg) for _ in scales
        ])
        self.output_conv = ConvModule(
            out_channels,
            out_channels,
            3,
            padding=1,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        pool = scales[-1] // scales[0]
        self.pool = nn.MaxPool2d(pool, pool) if pool > 1 else nn.Identity()

    def forward(self, low: Tensor, mid: Tensor, fused_top: Tensor) -> Tensor:
        """Aggregate F_L, F_M (B, C_v, H, W) and F_G (B, C_g, H, W).

        Returns:
            Tensor: F_coarse (B, C_out, H, W).
        """
        inputs = (fused_top, mid, low)
        if len(inputs) != len(self.levels):
            raise ValueError(f'this SFA has {len(self.levels)} inputs')
        return self.aggregate(list(inputs))

    def aggregate(self, inputs: List[Tensor]) -> Tensor:
        """Coarse-to-fine inputs (F_G first) -> F_coarse on F_G's grid."""
        feats = [level(x) for level, x in zip(self.levels, inputs)]
        prev = self.lateral_convs[0](feats[0])
        for lateral, feat in zip(self.lateral_convs[1:], feats[1:]):
            prev = lateral(feat) + F.interpolate(
                prev, size=feat.shape[-2:], mode='nearest')
        return self.pool(self.output_conv(prev))


class ConcatFusion(nn.Module):
    """Concatenation + projection (the ablation without SFA).

    Args:
        in_channels (Sequence[int]): Channels of the maps concatenated (F_L,
            F_M, F_G; or F_G only for the baseline).
        out_channels (int): Channels of F_coarse.
        norm_cfg (dict): Norm of the ConvModules.
        act_cfg (dict): Activation of the ConvModules.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 out_channels: int = 512,
                 norm_cfg: dict = PUBLIC_NORM_CFG,
                 act_cfg: dict = PUBLIC_ACT_CFG) -> None:
        super().__init__()
        self.proj = ConvModule(
            sum(in_channels), out_channels, 1, norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        self.conv = ConvModule(
            out_channels,
            out_channels,
            3,
            padding=1,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)

    def forward(self, *maps: Tensor) -> Tensor:
        """Concatenate (B, C_i, H, W) maps -> (B, C_out, H, W)."""
        return self.conv(self.proj(torch.cat(maps, dim=1)))


def _log2(value: int) -> int:
    n = int(round(math.log2(value))) if value > 0 else -1
    if n < 0 or 1 << n != value:
        raise ValueError(f'scale factors must be powers of two, got {value}')
    return n
