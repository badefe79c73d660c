"""Dice loss on sigmoid masks (Milletari et al. 2016), per sample.

Used by ASDA (Sec. 3.4), RISCLIP (Sec. 3.4) and Shared-RIS (Eq. 12).
"""
from typing import Optional

from torch import Tensor

from mmris.registry import MODELS
from .base_mask_loss import BaseMaskLoss
from .utils import check_mask_loss_inputs

__all__ = ['MaskDiceLoss']


@MODELS.register_module()
class MaskDiceLoss(BaseMaskLoss):
    """``1 - (2 |P*G| + s) / (|P| + |G| + s)`` per sample, averaged.

    ``P = sigmoid(logits)`` and the sums run over all pixels of a sample.

    Args:
        smooth (float): The smoothing term ``s``; with ``s = 1`` an empty
            prediction of an empty target costs 0. Defaults to 1.0.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        loss_name (str): Key in the loss dict. Defaults to 'loss_dice'.
    """

    def __init__(self,
                 smooth: float = 1.0,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_dice') -> None:
        super().__init__(loss_weight, loss_name)
        self.smooth = smooth

    def forward(self,
                logits: Tensor,
                target: Tensor,
                valid: Optional[Tensor] = None) -> Tensor:
        """Compute the loss.

        Args:
            logits (Tensor): (B, ...) mask logits.
            target (Tensor): Binary target, same shape.
            valid (Tensor, optional): Mask of pixels that count, same shape.

        Returns:
            Tensor: Scalar loss.
        """
        target = check_mask_loss_inputs(logits, target, self.loss_name)
        prob = logits.sigmoid()
        if valid is not None:
            valid = valid.to(prob.dtype)
            prob, target = prob * valid, target * valid
        prob, target = prob.flatten(1), target.flatten(1)
        inter = (prob * target).sum(1)
        total = prob.sum(1) + target.sum(1)
        dice = (2 * inter + self.smooth) / (total + self.smooth)
        return self.loss_weight * (1 - dice).mean()
