"""Base class of referring-segmentation heads (docs/design.md section 2)."""
from abc import ABCMeta, abstractmethod
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.models.utils import resize
from mmseg.utils import ConfigType, OptConfigType, SampleList
from torch import Tensor

from mmris.registry import MODELS
from mmris.structures import VLFeatures

__all__ = ['BaseRISHead', 'stack_gt_masks']

#: Label of pixels to ignore in ``gt_sem_seg`` (mmseg's padding value).
IGNORE_INDEX = 255


def stack_gt_masks(data_samples: SampleList) -> Tensor:
    """Stack the ``gt_sem_seg`` of a batch into one (B, 1, H, W) tensor.

    Args:
        data_samples (list[SegDataSample]): Samples with ``gt_sem_seg``; all
            of one size (the preprocessor pads them to the batch shape).

    Returns:
        Tensor: Long (B, 1, H, W) with 0, 1 and ``IGNORE_INDEX``.
    """
    masks = []
    for i, sample in enumerate(data_samples):
        if 'gt_sem_seg' not in sample:
            raise KeyError(
                f'data_samples[{i}] (ref_id={sample.metainfo.get("ref_id")}) '
                'has no gt_sem_seg: add LoadRefMask to the training pipeline.')
        masks.append(sample.gt_sem_seg.data)
    shapes = {tuple(m.shape) for m in masks}
    if len(shapes) > 1:
        raise ValueError(f'gt_sem_seg shapes differ within a batch: {shapes}; '
                         'resize/letterbox every sample to one size.')
    return torch.stack(masks).long()


class BaseRISHead(BaseModule, metaclass=ABCMeta):
    """Base of every RIS head: forward to mask logits, loss, predict.

    A subclass implements :meth:`forward` (``VLFeatures`` -> logits
    (B, 1, h, w) at the head's own stride). The ground truth is resized to
    the logits with nearest interpolation and every loss in ``loss_decode`` is
    applied; pixels labelled 255 (padding added by the preprocessor) are
    ignored.

    Args:
        loss_decode (dict | list[dict]): Loss configs; every loss takes
            ``(logits, target, valid)`` and has a ``loss_name``.
        align_corners (bool): Used when resizing logits. Defaults to False.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 loss_decode: Union[ConfigType, Sequence[ConfigType]] = dict(
                     type='MaskBCELoss'),
                 align_corners: bool = False,
                 init_cfg: OptConfigType = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if isinstance(loss_decode, dict):
            loss_decode = [loss_decode]
        self.loss_decode = nn.ModuleList(
            [MODELS.build(cfg) for cfg in loss_decode])
        self.align_corners = align_corners

    @abstractmethod
    def forward(self, feats: VLFeatures) -> Tensor:
        """Compute mask logits (B, 1, h, w) from the features."""

    def loss(self, feats: VLFeatures, data_samples: SampleList,
             train_cfg: OptConfigType = None) -> Dict[str, Tensor]:
        """Forward and compute the losses.

        Args:
            feats (VLFeatures): Features from the backbone / neck.
            data_samples (list[SegDataSample]): Samples with ``gt_sem_seg``.
            train_cfg (dict, optional): Training config (unused here).

        Returns:
            dict[str, Tensor]: Losses.
        """
        return self.loss_by_feat(self.forward(feats), data_samples)

    def loss_by_feat(self, logits: Tensor,
                     data_samples: SampleList) -> Dict[str, Tensor]:
        """Losses of mask logits against the batch's ground truth.

        Args:
            logits (Tensor): (B, 1, h, w) mask logits.
            data_samples (list[SegDataSample]): Samples with ``gt_sem_seg``.

        Returns:
            dict[str, Tensor]: One entry per loss plus ``acc_iou`` (batch IoU
            of the thresholded logits at the logits' size, for logging).
        """
        target, valid = self.prepare_targets(data_samples, logits.shape[-2:])
        losses: Dict[str, Tensor] = {}
        for loss_fn in self.loss_decode:
            value = loss_fn(logits, target.to(logits.dtype), valid)
            name = loss_fn.loss_name
            losses[name] = losses[name] + value if name in losses else value
        with torch.no_grad():
            pred = (logits > 0) & valid
            inter = (pred & (target > 0)).sum()
            union = (pred | ((target > 0) & valid)).sum().clamp(min=1)
            losses['acc_iou'] = inter.float() / union.float() * 100
        return losses

    @staticmethod
    def prepare_targets(data_samples: SampleList,
                        size: Tuple[int, int]) -> Tuple[Tensor, Tensor]:
        """Binary targets and valid masks resized (nearest) to ``size``.

        Returns:
            tuple[Tensor, Tensor]: Float target (B, 1, h, w) in {0, 1} and
            bool valid mask (B, 1, h, w).
        """
        gt = stack_gt_masks(data_samples)
        if tuple(gt.shape[-2:]) != tuple(size):
            gt = F.interpolate(gt.float(), size=size, mode='nearest').long()
        valid = gt != IGNORE_INDEX
        return (gt == 1).float(), valid

    def predict(self, feats: VLFeatures, batch_img_metas: List[dict],
                test_cfg: OptConfigType = None) -> Tensor:
        """Mask logits resized to the network input.

        Args:
            feats (VLFeatures): Features from the backbone / neck.
            batch_img_metas (list[dict]): Meta info; ``batch_input_shape``
                (or ``img_shape``) gives the network input size.
            test_cfg (dict, optional): Test config (unused here).

        Returns:
            Tensor: (B, 1, H_in, W_in) logits.
        """
        logits = self.forward(feats)
        meta = batch_img_metas[0]
        size = meta.get('batch_input_shape', meta.get('img_shape'))
        return resize(
            logits,
            size=tuple(size[:2]),
            mode='bilinear',
            align_corners=self.align_corners)
