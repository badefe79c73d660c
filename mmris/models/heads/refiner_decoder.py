"""RISCLIP's decoder, the "Refiner" (RISCLIP Sec. 3.4).

Four stages over the patch maps V_1..V_4 of the first four CLIP image
layers and the sigmoided patch-level grounding map::

    d_4 = D_4([v_4; map_patch])
    d_i = D_i([d_{i+1}; u(v_i)]),  i = 3, 2, 1

where ``D_i`` is two repetitions of conv3x3 -> ReLU -> BN (the paper's
literal order, mmcv ``ConvModule(order=('conv', 'act', 'norm'))``, no conv
bias) followed by x2 upsampling, ``u`` a bilinear resize of ``v_i`` to the
size of ``d_{i+1}``, and a final linear projection to one foreground logit
(reading A16). The hidden width is ``C_v / 2`` (LAVT's rule, reading A15).
The last upsampling goes to ``out_size`` (the input size: x2 for 640 / 16,
560 for RISCLIP-L, reading A14). The 1x1 projection commutes with bilinear
upsampling, so it is applied before the last resize (identical result, a
``channels``-fold cheaper upsampling).
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch import Tensor

__all__ = ['RefinerDecoder']


class RefinerDecoder(nn.Module):
    """The Refiner: conv stages from deep to shallow, then one logit.

    Args:
        in_channels (int): Channels of every V_i (C_v).
        channels (int): Hidden width. Defaults to ``in_channels // 2``.
        num_stages (int): Number of stages / V_i maps. Defaults to 4.
        map_channels (int): Channels of the grounding map. Defaults to 1.
        norm_cfg (dict): Norm layer. Defaults to BN.
        act_cfg (dict): Activation. Defaults to ReLU.
        order (tuple[str]): ConvModule order. Defaults to
            ('conv', 'act', 'norm') (Sec. 3.4).
        align_corners (bool): For the bilinear resizes. Defaults to False.
    """

    def __init__(self,
                 in_channels: int,
                 channels: Optional[int] = None,
                 num_stages: int = 4,
                 map_channels: int = 1,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU'),
                 order: Sequence[str] = ('conv', 'act', 'norm'),
                 align_corners: bool = False) -> None:
        super().__init__()
        channels = channels or in_channels // 2
        if num_stages < 1:
            raise ValueError(f'num_stages must be >= 1, got {num_stages}')
        self.num_stages = num_stages
        self.align_corners = align_corners
        stages = []
        # stages[0] is D_1 (shallowest), stages[-1] D_4 (reads the map)
        for i in range(num_stages):
            cin = in_channels + (map_channels
                                 if i == num_stages - 1 else channels)
            stages.append(
                nn.Sequential(
                    ConvModule(cin, channels, 3, padding=1,
                               norm_cfg=norm_cfg, act_cfg=act_cfg,
                               order=tuple(order)),
                    ConvModule(channels, channels, 3, padding=1,
                               norm_cfg=norm_cfg, act_cfg=act_cfg,
                               order=tuple(order))))
        self.stages = nn.ModuleList(stages)
        self.cls = nn.Conv2d(channels, 1, 1)

    def _up(self, x: Tensor, size: Tuple[int, int]) -> Tensor:
        return F.interpolate(x, size=size, mode='bilinear',
                             align_corners=self.align_corners)

    def forward(self, levels: List[Tensor], map_prob: Tensor,
                out_size: Tuple[int, int]) -> Tensor:
        """Args:
            levels (list[Tensor]): V_1..V_n, each (B, C_v, h, w).
            map_prob (Tensor): (B, 1, h, w) sigmoided grounding map.
            out_size (tuple[int, int]): Output size (the input size).

        Returns:
            Tensor: (B, 1, *out_size) foreground logits.
        """
        if len(levels) != self.num_stages:
            raise ValueError(f'RefinerDecoder expects {self.num_stages} '
                             f'maps V_i, got {len(levels)}')
        x = levels[-1]
        if map_prob.shape[-2:] != x.shape[-2:]:
            map_prob = self._up(map_prob, x.shape[-2:])
        x = torch.cat([x, map_prob.to(x.dtype)], dim=1)
        for i in range(self.num_stages - 1, -1, -1):
            if i < self.num_stages - 1:
                x = torch.cat([x, self._up(levels[i], x.shape[-2:])], dim=1)
            x = self.stages[i](x)
            if i > 0:
                x = self._up(x, (x.shape[-2] * 2, x.shape[-1] * 2))
        return self._up(self.cls(x), tuple(out_size))
