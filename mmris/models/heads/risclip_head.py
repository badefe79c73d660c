"""RISCLIP's head: the Locator loss (stage 1) and the Refiner (stage 2).

RISCLIP Sec. 3.4-3.5, App. A.1, Table A1. Training has two stages:

* ``stage='locator'``: the output is the patch-level grounding map
  (``extras['grounding_map']``, (B, 1, 40, 40) logits, from
  :class:`~mmris.models.necks.SKENeck`), trained against a "patch-level
  downsampled" mask, by default the area average of the mask over each patch
  (a soft target, reading A17; 'nearest' is the option);
* ``stage='refiner'``: the :class:`RefinerDecoder` turns V_1..V_4 and the
  sigmoided map into full-resolution logits.

Both stages use ``1.0 * Dice + 1.75 * Focal(alpha=0.65, gamma=2)`` (App.
A.1). The Refiner is built in both stages (so a stage-1 checkpoint holds the
whole model); which parts train is set by the segmentor
(:class:`~mmris.models.segmentors.StagedRefSegmentor`).
"""
from typing import Optional, Sequence, Tuple

import torch.nn.functional as F
from mmseg.utils import SampleList
from torch import Tensor

from mmris.registry import MODELS
from mmris.structures import (FeatureSpec, SpecMismatchError, VLFeatures,
                              resolve_arg)
from .base_ris_head import IGNORE_INDEX, BaseRISHead, stack_gt_masks
from .refiner_decoder import RefinerDecoder

__all__ = ['RISCLIPHead']

STAGES = ('locator', 'refiner')


@MODELS.register_module()
class RISCLIPHead(BaseRISHead):
    """Grounding-map loss (stage 1) or Refiner decoder (stage 2).

    Args:
        in_channels (int, optional): Channels of V_1..V_4 (896 for
            RISCLIP-B, 1024 for RISCLIP-L); from ``in_spec`` when left out.
        channels (int, optional): Refiner width; None: ``in_channels // 2``.
        in_index (Sequence[int]): Positions of V_1..V_4 in the backbone's
            ``visual`` list. Defaults to (0, 1, 2, 3).
        stage (str): 'locator' or 'refiner'.
        output_stride (int, optional): Output size / grounding-map size (the
            patch size: 16 for B, 14 for L), used when the input size is
            unknown; from ``in_spec`` when left out, else 16.
        map_key (str): Key of the grounding map in ``extras``.
        target_downsample (str): How the mask is reduced to the logits'
            size when they differ: 'area' (soft) or 'nearest'.
        norm_cfg (dict): Refiner norm. Defaults to BN.
        act_cfg (dict): Refiner activation. Defaults to ReLU.
        loss_decode (list[dict]): Losses. Defaults to Dice 1.0 + Focal 1.75.
        align_corners (bool): For resizes. Defaults to False.
        in_spec (FeatureSpec, optional): Declared input (set by
            :class:`RefSegmentor`): fills and checks ``in_channels`` and
            ``output_stride``; a declared input without a grounding map is
            refused.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: Optional[int] = None,
                 channels: Optional[int] = None,
                 in_index: Sequence[int] = (0, 1, 2, 3),
                 stage: str = 'locator',
                 output_stride: Optional[int] = None,
                 map_key: str = 'grounding_map',
                 target_downsample: str = 'area',
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU'),
                 loss_decode=(dict(type='MaskDiceLoss', loss_weight=1.0),
                              dict(type='MaskFocalLoss', alpha=0.65,
                                   gamma=2.0, loss_weight=1.75)),
                 align_corners: bool = False,
                 in_spec: Optional[FeatureSpec] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(loss_decode=list(loss_decode),
                         align_corners=align_corners, init_cfg=init_cfg)
        derived_in = derived_stride = None
        if in_spec is not None:
            if map_key not in in_spec.extras:
                raise SpecMismatchError(
                    f'RISCLIPHead needs extras["{map_key}"] (the grounding '
                    f'map); {in_spec.describe()}. Put an SKENeck before it.')
            levels = [in_spec.level(i) for i in in_index]
            widths = {level.channels for level in levels}
            strides = {level.stride for level in levels}
            if len(widths) != 1 or len(strides) != 1:
                raise SpecMismatchError(
                    'RISCLIPHead reads V_i of one width on one grid, got '
                    f'channels {sorted(widths)} / strides {sorted(strides)} '
                    f'at in_index={tuple(in_index)}')
            derived_in, derived_stride = widths.pop(), strides.pop()
        in_channels = resolve_arg('RISCLIPHead', 'in_channels', in_channels,
                                  derived_in)
        if output_stride is None:
            output_stride = derived_stride or 16
        else:
            output_stride = resolve_arg('RISCLIPHead', 'output_stride',
                                        output_stride, derived_stride)
        if stage not in STAGES:
            raise ValueError(f'stage must be one of {STAGES}, got {stage!r}')
        if target_downsample not in ('area', 'nearest'):
            raise ValueError("target_downsample must be 'area' or 'nearest',"
                             f' got {target_downsample!r}')
        self.stage = stage
        self.in_index = tuple(in_index)
        self.output_stride = output_stride
        self.map_key = map_key
        self.target_downsample = target_downsample
        self.decoder = RefinerDecoder(
            in_channels, channels, num_stages=len(self.in_index),
            norm_cfg=norm_cfg, act_cfg=act_cfg, align_corners=align_corners)

    def _grounding_map(self, feats: VLFeatures) -> Tensor:
        if self.map_key not in feats.extras:
            raise KeyError(f'RISCLIPHead needs extras["{self.map_key}"] (the '
                           'grounding map of SKENeck); add the neck')
        return feats.extras[self.map_key]

    def _levels(self, feats: VLFeatures):
        visual = feats.backbone_visual
        if visual is None:
            visual = feats.visual
        return [visual[i] for i in self.in_index]

    def forward(self, feats: VLFeatures,
                out_size: Optional[Tuple[int, int]] = None) -> Tensor:
        """Mask logits.

        Args:
            feats (VLFeatures): Neck features with the grounding map.
            out_size (tuple[int, int], optional): Refiner output size;
                default: the map size times ``output_stride``.

        Returns:
            Tensor: Locator: the grounding map (B, 1, h, w). Refiner:
            (B, 1, *out_size).
        """
        grounding = self._grounding_map(feats)
        if self.stage == 'locator':
            return grounding
        if out_size is None:
            out_size = (grounding.shape[-2] * self.output_stride,
                        grounding.shape[-1] * self.output_stride)
        return self.decoder(self._levels(feats), grounding.sigmoid(),
                            out_size)

    def loss(self, feats: VLFeatures, data_samples: SampleList,
             train_cfg=None):
        """Losses of the stage's output against the ground truth."""
        size = None
        if self.stage == 'refiner' and data_samples:
            size = tuple(data_samples[0].gt_sem_seg.shape[-2:])
        # losses in float32 (stage 1 runs under bf16 autocast)
        return self.loss_by_feat(
            self.forward(feats, size).float(), data_samples)

    def predict(self, feats: VLFeatures, batch_img_metas, test_cfg=None):
        """Logits at the network input size (see ``BaseRISHead``)."""
        meta = batch_img_metas[0]
        size = tuple(meta.get('batch_input_shape', meta.get('img_shape'))[:2])
        logits = self.forward(feats, size)
        if tuple(logits.shape[-2:]) != size:
            logits = F.interpolate(logits, size=size, mode='bilinear',
                                   align_corners=self.align_corners)
        return logits

    def prepare_targets(self, data_samples: SampleList,
                        size: Tuple[int, int]) -> Tuple[Tensor, Tensor]:
        """Targets at ``size``: area-averaged (soft) or nearest.

        With 'area', each cell's target is the fraction of its valid pixels
        that are foreground, and a cell counts when any of its pixels is
        valid (not 255).

        Returns:
            tuple[Tensor, Tensor]: Float target (B, 1, h, w) in [0, 1] and
            bool valid mask (B, 1, h, w).
        """
        if self.target_downsample == 'nearest':
            return BaseRISHead.prepare_targets(data_samples, size)
        gt = stack_gt_masks(data_samples)
        valid = (gt != IGNORE_INDEX).float()
        fg = (gt == 1).float()
        if tuple(gt.shape[-2:]) == tuple(size):
            return fg, valid > 0
        valid_frac = F.adaptive_avg_pool2d(valid, size)
        fg_frac = F.adaptive_avg_pool2d(fg, size)
        target = fg_frac / valid_frac.clamp(min=1e-6)
        return target.clamp(0, 1), valid_frac > 0
