"""A simple feature pyramid for plain (single-stride) backbones.

ViTDet (Li et al., *Exploring Plain Vision Transformer Backbones for Object
Detection*, ECCV 2022, Sec. 3 and Fig. 2 "simple feature pyramid"): the maps
of a plain ViT, all at one stride, are turned into a pyramid by transposed
convolutions (x2, x4), identity (x1) and max pooling (x0.5), each followed by
a 1x1 and a 3x3 convolution. In mmris it lets stride-based necks (the CRIS
neck) run on CLIP ViT or BEiT-3 taps: ``neck=[dict(type='SimpleFeaturePyramid'),
dict(type='CRISNeck')]``.
"""
from typing import List, Optional, Sequence, Union

import torch.nn as nn
from mmcv.cnn import ConvModule, build_activation_layer, build_norm_layer
from torch import Tensor

from mmris.registry import MODELS
from mmris.structures import (FeatureSpec, LevelSpec, SpecMismatchError,
                              VLFeatures, resolve_arg)
from .base_ris_neck import BaseRISNeck

__all__ = ['SimpleFeaturePyramid']

_SCALES = (4.0, 2.0, 1.0, 0.5)


def _rescale(channels: int, scale: float, norm_cfg: dict,
             act_cfg: dict) -> nn.Module:
    """The resampling op of one pyramid level (ViTDet Fig. 2)."""
    if scale == 1.0:
        return nn.Identity()
    if scale == 0.5:
        return nn.MaxPool2d(kernel_size=2, stride=2)
    layers: List[nn.Module] = [
        nn.ConvTranspose2d(channels, channels, kernel_size=2, stride=2)
    ]
    if scale == 4.0:
        layers += [
            build_norm_layer(norm_cfg, channels)[1],
            build_activation_layer(act_cfg),
            nn.ConvTranspose2d(channels, channels, kernel_size=2, stride=2)
        ]
    return nn.Sequential(*layers)


@MODELS.register_module()
class SimpleFeaturePyramid(BaseRISNeck):
    """Single-stride maps -> a multi-stride pyramid (ViTDet).

    Args:
        scales (Sequence[float]): Resampling of each output level, from
            {4, 2, 1, 0.5}. Defaults to (2, 1, 0.5): strides 8/16/32 from a
            stride-16 ViT, the pyramid the CRIS neck was designed for.
        in_index (int | Sequence[int]): Input level(s): one index (ViTDet:
            the last map for every level) or one per output level (e.g.
            shallower taps for the finer levels). Defaults to -1.
        in_channels (int | Sequence[int], optional): Channels of the input
            level(s); taken from ``in_spec`` when left out.
        out_channels (int | Sequence[int]): Channels of each output level.
            Defaults to 256 (ViTDet).
        norm_cfg (dict): Norm of the convolutions. Defaults to BN.
        act_cfg (dict): Activation inside the x4 branch. Defaults to GELU.
        in_spec (FeatureSpec, optional): Declared input.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 scales: Sequence[float] = (2.0, 1.0, 0.5),
                 in_index: Union[int, Sequence[int]] = -1,
                 in_channels: Union[int, Sequence[int], None] = None,
                 out_channels: Union[int, Sequence[int]] = 256,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='GELU'),
                 in_spec: Optional[FeatureSpec] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        scales = tuple(float(s) for s in scales)
        bad = [s for s in scales if s not in _SCALES]
        if not scales or bad:
            raise ValueError(f'SimpleFeaturePyramid scales must be from '
                             f'{_SCALES}, got {scales}')
        n = len(scales)
        index = ((int(in_index), ) * n if isinstance(in_index, int) else
                 tuple(int(i) for i in in_index))
        if len(index) != n:
            raise ValueError(f'in_index {in_index} needs one entry per scale '
                             f'{scales}')
        derived = None
        if in_spec is not None:
            levels = [in_spec.level(i) for i in index]
            strides = {level.stride for level in levels}
            if len(strides) != 1:
                raise SpecMismatchError(
                    'SimpleFeaturePyramid resamples maps of one stride; input '
                    f'levels {index} have strides {sorted(strides)}')
            derived = tuple(level.channels for level in levels)
        if isinstance(in_channels, int):
            in_channels = (in_channels, ) * n
        in_channels = resolve_arg('SimpleFeaturePyramid', 'in_channels',
                                  in_channels, derived)
        if len(in_channels) != n:
            raise ValueError(f'in_channels {in_channels} needs one entry per '
                             f'scale {scales}')
        outs = ((out_channels, ) * n if isinstance(out_channels, int) else
                tuple(out_channels))
        self.scales = scales
        self.in_index = index
        self.stages = nn.ModuleList()
        for cin, cout, scale in zip(in_channels, outs, scales):
            self.stages.append(
                nn.Sequential(
                    _rescale(cin, scale, norm_cfg, act_cfg),
                    ConvModule(cin, cout, 1, norm_cfg=norm_cfg,
                               act_cfg=None),
                    ConvModule(
                        cout, cout, 3, padding=1, norm_cfg=norm_cfg,
                        act_cfg=None)))
        self._out_spec = None
        if in_spec is not None:
            stride = in_spec.level(index[0]).stride
            new_levels = []
            for cout, scale in zip(outs, scales):
                if scale > 1 and stride % scale:
                    raise SpecMismatchError(
                        f'SimpleFeaturePyramid: stride {stride} cannot be '
                        f'upsampled x{scale:g}')
                new_levels.append(LevelSpec(cout, int(stride / scale)))
            self._out_spec = in_spec.replace(
                visual=tuple(new_levels),
                word_level_dims=None,
                has_joint=False,
                source='SimpleFeaturePyramid')

    def output_spec(self) -> Optional[FeatureSpec]:
        """One level per scale: stride / scale, ``out_channels``."""
        return self._out_spec

    def forward(self, feats: VLFeatures) -> VLFeatures:
        """Build the pyramid.

        Args:
            feats (VLFeatures): ``visual[in_index]`` maps (B, C, h, w) of one
                stride.

        Returns:
            VLFeatures: ``visual`` = one (B, C_out, h * s, w * s) map per
            scale s; per-level fields cleared, text fields unchanged.
        """
        visual: List[Tensor] = [
            stage(feats.visual[i])
            for stage, i in zip(self.stages, self.in_index)
        ]
        return feats.replace(
            visual=visual,
            visual_cls=None,
            word_levels=None,
            joint_levels=None,
            backbone_visual=feats.backbone_visual or feats.visual)
