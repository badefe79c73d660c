"""Binary cross-entropy on mask logits (Shared-RIS Eq. 12, CRIS's coded loss)."""
from typing import Optional

import torch.nn.functional as F
from torch import Tensor

from mmris.registry import MODELS
from .base_mask_loss import BaseMaskLoss
from .utils import check_mask_loss_inputs, weighted_mean

__all__ = ['MaskBCELoss']


@MODELS.register_module()
class MaskBCELoss(BaseMaskLoss):
    """Sigmoid binary cross-entropy averaged over pixels.

    Args:
        pos_weight (float, optional): Weight of positive pixels.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        loss_name (str): Key of the loss in the loss dict (must start with
            ``loss_`` to be summed by the runner). Defaults to 'loss_bce'.
    """

    def __init__(self,
                 pos_weight: Optional[float] = None,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_bce') -> None:
        super().__init__(loss_weight, loss_name)
        self.pos_weight = pos_weight

    def forward(self,
                logits: Tensor,
                target: Tensor,
                valid: Optional[Tensor] = None) -> Tensor:
        """Compute the loss.

        Args:
            logits (Tensor): (B, 1, H, W) mask logits.
            target (Tensor): (B, 1, H, W) binary target.
            valid (Tensor, optional): (B, 1, H, W) mask of pixels that count.

        Returns:
            Tensor: Scalar loss.
        """
        target = check_mask_loss_inputs(logits, target, self.loss_name)
        pos_weight = None
        if self.pos_weight is not None:
            pos_weight = logits.new_tensor(self.pos_weight)
        loss = F.binary_cross_entropy_with_logits(
            logits, target, pos_weight=pos_weight, reduction='none')
        return self.loss_weight * weighted_mean(loss, valid)
