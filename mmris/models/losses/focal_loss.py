"""Sigmoid focal loss (Lin et al., ICCV 2017) in plain PyTorch.

Used by ASDA (Sec. 3.4) and RISCLIP (Sec. 3.4). Unlike mmseg's ``FocalLoss``
it does not need the compiled ``mmcv.ops.sigmoid_focal_loss``.
"""
from typing import Optional

import torch.nn.functional as F
from torch import Tensor

from mmris.registry import MODELS
from .base_mask_loss import BaseMaskLoss
from .utils import check_mask_loss_inputs, weighted_mean

__all__ = ['MaskFocalLoss']


@MODELS.register_module()
class MaskFocalLoss(BaseMaskLoss):
    """``FL = -a_t (1 - p_t)^gamma log(p_t)`` averaged over pixels.

    Args:
        alpha (float): Weight of the positive class in [0, 1]; a negative
            value disables the weighting (``alpha=-1, gamma=0`` is plain BCE,
            which is what ASDA's public code trains with). Defaults to 0.25.
        gamma (float): Focusing parameter. Defaults to 2.0.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        loss_name (str): Key in the loss dict. Defaults to 'loss_focal'.
    """

    def __init__(self,
                 alpha: float = 0.25,
                 gamma: float = 2.0,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_focal') -> None:
        super().__init__(loss_weight, loss_name)
        if alpha > 1:
            raise ValueError(f'alpha must be <= 1 (negative disables it), '
                             f'got {alpha}')
        if gamma < 0:
            raise ValueError(f'gamma must be >= 0, got {gamma}')
        self.alpha = alpha
        self.gamma = gamma

    def forward(self,
                logits: Tensor,
                target: Tensor,
                valid: Optional[Tensor] = None) -> Tensor:
        """Compute the loss.

        Args:
            logits (Tensor): (B, 1, H, W) mask logits.
            target (Tensor): (B, 1, H, W) binary target.
            valid (Tensor, optional): Mask of pixels that count.

        Returns:
            Tensor: Scalar loss.
        """
        target = check_mask_loss_inputs(logits, target, self.loss_name)
        ce = F.binary_cross_entropy_with_logits(
            logits, target, reduction='none')
        prob = logits.sigmoid()
        p_t = prob * target + (1 - prob) * (1 - target)
        loss = ce * (1 - p_t).pow(self.gamma) if self.gamma else ce
        if self.alpha >= 0:
            loss = loss * (self.alpha * target + (1 - self.alpha) *
                           (1 - target))
        return self.loss_weight * weighted_mean(loss, valid)
