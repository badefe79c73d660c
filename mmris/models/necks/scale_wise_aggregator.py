"""Sentence fusion and Scale-wise Feature Aggregator of ASDA (Sec. 3.3).

* :class:`GlobalLocalFusion` - Eq. 4, ``f_G = f_H * f_E`` for every
  position of the top-layer map, as in the public code:
  ``F_G = BN+LReLU(conv1x1(F_H) * (Linear(C_t->C_v)+BN1d+LReLU)(f_E))``.
* :class:`ScaleWiseAggregator` - Eq. 5. The selected low / mid maps are
  turned into a pyramid by transposed convolutions (low x4: 26 -> 104, mid
  x2: 26 -> 52 at 416 input, as the public code does; the paper's text calls
  these the "down-sampled" features F~_L, F~_M), then aggregated level by
  level towards the 26x26 grid of F_G::

      F'_L    = Phi_up(F~_L)                resample to the mid grid, C -> 32
      F'_M    = Phi_lateral(F~_M) + F'_L       1x1 conv, C -> 32
      F_coarse = Phi_agg(Phi_lateral(F_G) + Phi_up(F'_M))   3x3 conv 32 -> C

  ``Phi_up`` between the levels is a stride-2 3x3 conv-BN-LeakyReLU (the
  levels grow coarser towards F_G); ``Phi_lateral`` a 1x1 conv-BN-LeakyReLU
  and ``Phi_agg`` a 3x3 conv-BN-LeakyReLU restoring ``out_channels``
  (the paper's "channel reduction to 32", ``reduce_channels``).
* :class:`ConcatFusion` - the "without SFA" ablation (Table 2 (b), (c)):
  F_L, F_M and F_G at the same resolution, concatenated and projected as in
  CRIS (1x1 conv-BN-LeakyReLU to ``out_channels`` then a 3x3 one); with no
  low / mid map (Table 2 (a) baseline) only F_G is projected.
"""
from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor

from mmris.models.utils import SafeBatchNorm1d

__all__ = [
    'conv_bn_act', 'GlobalLocalFusion', 'ScaleWiseAggregator', 'ConcatFusion'
]


def conv_bn_act(in_channels: int,
                out_channels: int,
                kernel_size: int = 1,
                stride: int = 1,
                negative_slope: float = 0.1) -> nn.Sequential:
    """Conv (no bias) + BatchNorm + LeakyReLU (the public code's block)."""
    return nn.Sequential(
        nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding=kernel_size // 2,
            bias=False), nn.BatchNorm2d(out_channels),
        nn.LeakyReLU(negative_slope, inplace=True))


def _up_block(channels: int, out_channels: int, scale: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(
            channels, out_channels, scale, stride=scale, bias=False),
        nn.BatchNorm2d(out_channels), nn.LeakyReLU(0.1, inplace=True))


class GlobalLocalFusion(nn.Module):
    """Eq. 4: fuse the sentence feature into the top-layer map.

    Args:
        in_channels (int): Channels C_v of F_H.
        text_dims (int): Width C_t of f_E.
    """

    def __init__(self, in_channels: int, text_dims: int) -> None:
        super().__init__()
        self.vis_proj = nn.Conv2d(in_channels, in_channels, 1, bias=False)
        self.txt_proj = nn.Sequential(
            nn.Linear(text_dims, in_channels, bias=False),
            SafeBatchNorm1d(in_channels), nn.LeakyReLU(0.1, inplace=True))
        self.norm_act = nn.Sequential(
            nn.BatchNorm2d(in_channels), nn.LeakyReLU(0.1, inplace=True))

    def forward(self, top: Tensor, sentence: Tensor) -> Tensor:
        """(B, C_v, H, W), (B, C_t) -> F_G (B, C_v, H, W)."""
        text = self.txt_proj(sentence)[:, :, None, None]
        return self.norm_act(self.vis_proj(top) * text)


class ScaleWiseAggregator(nn.Module):
    """Eq. 5: multi-scale low / mid features aggregated with F_G.

    Args:
        in_channels (int): Channels C_v of the ViT maps and F_G.
        out_channels (int): Channels of F_coarse. Defaults to 512.
        reduce_channels (int): Channel reduction of the lateral path (paper:
            32).
        scale_channels (int, optional): Channels of the up-sampled pyramid
            maps F~_L, F~_M. Defaults to ``in_channels``.
        low_scale (int): Up-sampling of the low map. Defaults to 4.
        mid_scale (int): Up-sampling of the mid map. Defaults to 2.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int = 512,
                 reduce_channels: int = 32,
                 scale_channels: Optional[int] = None,
                 low_scale: int = 4,
                 mid_scale: int = 2) -> None:
        super().__init__()
        if low_scale % mid_scale or low_scale <= mid_scale or mid_scale < 2:
            raise ValueError('need low_scale a multiple of mid_scale > 1, got '
                             f'{low_scale}, {mid_scale}')
        scale_channels = scale_channels or in_channels
        r = reduce_channels
        self.up_low = _up_block(in_channels, scale_channels, low_scale)
        self.up_mid = _up_block(in_channels, scale_channels, mid_scale)
        # F~_L -> the mid grid (stride low/mid) with reduction to r.
        steps = []
        cin = scale_channels
        for _ in range(_log2(low_scale // mid_scale)):
            steps.append(conv_bn_act(cin, r, 3, 2))
            cin = r
        self.down_low = nn.Sequential(*steps)
        self.lateral_mid = conv_bn_act(scale_channels, r, 1)
        self.down_mid = nn.Sequential(
            *[conv_bn_act(r, r, 3, 2) for _ in range(_log2(mid_scale))])
        self.lateral_top = conv_bn_act(in_channels, r, 1)
        self.agg = conv_bn_act(r, out_channels, 3)

    def forward(self, low: Tensor, mid: Tensor, fused_top: Tensor) -> Tensor:
        """Aggregate (B, C_v, H, W) F_L, F_M, F_G to F_coarse (B, C_out, H, W).
        """
        low = self.up_low(low)  # F~_L at x4
        mid = self.up_mid(mid)  # F~_M at x2
        mid = self.lateral_mid(mid) + self.down_low(low)  # F'_M
        return self.agg(self.lateral_top(fused_top) + self.down_mid(mid))


class ConcatFusion(nn.Module):
    """Concatenation + projection (the ablation without SFA).

    Args:
        in_channels (int): Channels C_v of every input map.
        num_inputs (int): Number of maps concatenated (3 with F_L, F_M, F_G;
            1 for the baseline on F_G only).
        out_channels (int): Channels of F_coarse.
    """

    def __init__(self, in_channels: int, num_inputs: int,
                 out_channels: int = 512) -> None:
        super().__init__()
        self.proj = conv_bn_act(in_channels * num_inputs, out_channels, 1)
        self.conv = conv_bn_act(out_channels, out_channels, 3)

    def forward(self, *maps: Tensor) -> Tensor:
        """Concatenate (B, C_v, H, W) maps -> (B, C_out, H, W)."""
        return self.conv(self.proj(torch.cat(maps, dim=1)))


def _log2(value: int) -> int:
    n = value.bit_length() - 1
    if 1 << n != value:
        raise ValueError(f'scale factors must be powers of two, got {value}')
    return n
