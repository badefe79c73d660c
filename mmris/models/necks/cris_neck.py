"""The cross-modal neck of CRIS (Sec. 3.1, Eq. 1-4).

Layer layout of the public CRIS code (where the paper is silent): the
sentence feature enters only at the deepest level, through
Linear(no bias) + BN1d + ReLU (``W_s`` of Eq. 1); the pyramid is fused top
down (Eq. 2), the three levels are aggregated by a 1x1 convolution at
stride 16 (Eq. 3), and 2-D coordinates are concatenated before a 3x3
convolution, followed by one more 3x3 convolution (Eq. 4).

The public code assumes strides 8/16/32 (a fixed 2x2 average pool and 2x
upsampling); this neck resamples to the sizes it actually receives (adaptive
average pooling down, bilinear up), which is the same operation on a
stride 8/16/32 pyramid and also runs on single-stride taps (a plain ViT or
BEiT-3) or any other pyramid. The output is on the grid of the middle level.
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_norm_layer
from torch import Tensor

from mmris.registry import MODELS
from mmris.structures import (FeatureSpec, LevelSpec, SpecMismatchError,
                              VLFeatures, resolve_arg)
from ..utils import SafeBatchNorm1d, concat_coord_feats
from .base_ris_neck import BaseRISNeck

__all__ = ['CRISNeck']


def _up_to(x: Tensor, ref: Tensor) -> Tensor:
    """Bilinear upsampling of ``x`` to the size of ``ref`` (2x in CRIS)."""
    if x.shape[-2:] == ref.shape[-2:]:
        return x
    return F.interpolate(
        x, size=ref.shape[-2:], mode='bilinear', align_corners=False)


def _resample_to(x: Tensor, ref: Tensor) -> Tensor:
    """``x`` on the grid of ``ref``: average-pooled when larger (the 2x2
    average pool of CRIS on a stride-8 map), bilinear when smaller."""
    size = ref.shape[-2:]
    if x.shape[-2:] == size:
        return x
    if x.shape[-2] >= size[0] and x.shape[-1] >= size[1]:
        return F.adaptive_avg_pool2d(x, size)
    return F.interpolate(x, size=size, mode='bilinear', align_corners=False)


@MODELS.register_module()
class CRISNeck(BaseRISNeck):
    """Cross-modal neck: F_v2, F_v3, F_v4 and F_s -> F_v (stride 16).

    Every conv is Conv(no bias) + norm + activation (``ConvModule``).

    Args:
        in_channels (Sequence[int], optional): Channels of the three levels
            (F_v2, F_v3, F_v4; CLIP RN50: (512, 1024, 1024)). Taken from
            ``in_spec`` when left out.
        out_channels (int): Channels C of F_v. Defaults to 512.
        sentence_dims (int, optional): Width of F_s (RN50: 1024). Taken
            from ``in_spec`` when left out.
        channels (Sequence[int], optional): Widths of the (stride 8, 16, 32)
            branches before fusion. Defaults to
            ``(out_channels // 2, out_channels, out_channels * 2)`` =
            (256, 512, 1024), the public code's.
        in_index (Sequence[int]): Which visual levels are F_v2, F_v3, F_v4
            (shallow, middle, deep). Defaults to (0, 1, 2).
        norm_cfg (dict): Norm of the conv layers (``SyncBN`` for multi-GPU).
        act_cfg (dict): Activation. Defaults to ReLU.
        in_spec (FeatureSpec, optional): Declared input (set by
            :class:`RefSegmentor`); fills and checks ``in_channels`` and
            ``sentence_dims``.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: Optional[Sequence[int]] = None,
                 out_channels: int = 512,
                 sentence_dims: Optional[int] = None,
                 channels: Optional[Sequence[int]] = None,
                 in_index: Sequence[int] = (0, 1, 2),
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU'),
                 in_spec: Optional[FeatureSpec] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(in_index) != 3:
            raise ValueError('CRISNeck fuses three levels (shallow, middle, '
                             f'deep); got in_index={in_index}')
        derived_in = derived_sent = None
        if in_spec is not None:
            levels = [in_spec.level(i) for i in in_index]
            derived_in = tuple(level.channels for level in levels)
            derived_sent = in_spec.sentence_dims
            if not (levels[0].stride <= levels[1].stride <= levels[2].stride):
                raise SpecMismatchError(
                    'CRISNeck needs levels in_index=%s ordered shallow to '
                    'deep (non-decreasing strides), got strides %s' %
                    (tuple(in_index), [lv.stride for lv in levels]))
        in_channels = resolve_arg('CRISNeck', 'in_channels', in_channels,
                                  derived_in)
        sentence_dims = resolve_arg('CRISNeck', 'sentence_dims',
                                    sentence_dims, derived_sent)
        if len(in_channels) != 3:
            raise ValueError('CRISNeck fuses three levels; got '
                             f'in_channels={in_channels}')
        self._out_spec = None
        if in_spec is not None:
            mid = in_spec.level(in_index[1])
            self._out_spec = in_spec.replace(
                visual=(LevelSpec(out_channels, mid.stride), ),
                word_level_dims=None,
                has_joint=False,
                source='CRISNeck')
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

    def output_spec(self) -> Optional[FeatureSpec]:
        """One fused level on the middle input level's grid."""
        return self._out_spec

    def forward(self, feats: VLFeatures) -> VLFeatures:
        """Fuse the sentence into the visual pyramid.

        Args:
            feats (VLFeatures): ``visual`` holds F_v2, F_v3, F_v4 at
                ``in_index`` (strides 8/16/32 in CRIS, any sizes work);
                ``sentence`` is F_s.

        Returns:
            VLFeatures: The same container with ``visual=[F_v]``, F_v
            (B, out_channels, h, w) on the middle level's grid (H/16, W/16
            in CRIS); per-level fields (``visual_cls``, ``word_levels``,
            ``joint_levels``) are cleared.
        """
        v2, v3, v4 = (feats.visual[i] for i in self.in_index)
        state = self.sentence_proj(feats.sentence)[..., None, None]
        # Eq. 1 (before the upsampling, which the public code applies when
        # concatenating with the stride-16 level).
        m4 = self.fuse_norm(self.v4_proj(v4) * state)
        # Eq. 2
        m3 = self.m3_fuse(torch.cat([self.v3_proj(v3), _up_to(m4, v3)], 1))
        p2 = _resample_to(self.v2_proj(v2), m3)
        m2 = self.m2_fuse(torch.cat([p2, m3], 1))
        # Eq. 3
        a4 = self.agg_proj4(m4)
        fm = self.aggregate(
            torch.cat([self.agg_proj2(m2),
                       self.agg_proj3(m3),
                       _up_to(a4, m3)], 1))
        # Eq. 4
        fv = self.out_conv(self.coord_conv(concat_coord_feats(fm)))
        return feats.replace(
            visual=[fv], visual_cls=None, word_levels=None, joint_levels=None)
