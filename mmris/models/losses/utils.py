"""Shared helpers of the mask losses."""
from typing import Optional

import torch
from torch import Tensor

__all__ = ['check_mask_loss_inputs', 'weighted_mean']


def check_mask_loss_inputs(logits: Tensor, target: Tensor,
                           name: str) -> Tensor:
    """Check shapes and return the target as a float tensor like logits.

    Args:
        logits (Tensor): Mask logits, any shape, e.g. (B, 1, H, W).
        target (Tensor): Binary target with the same shape (values 0/1).
        name (str): Loss name, used in the error message.

    Returns:
        Tensor: ``target`` as ``logits.dtype``.
    """
    if logits.shape != target.shape:
        raise ValueError(f'{name}: logits {tuple(logits.shape)} and target '
                         f'{tuple(target.shape)} must have the same shape; '
                         'resize the target to the logits first.')
    return target.to(logits.dtype)


def weighted_mean(loss: Tensor, valid: Optional[Tensor]) -> Tensor:
    """Mean of an element-wise loss over the valid elements.

    Args:
        loss (Tensor): Element-wise loss.
        valid (Tensor, optional): Bool or 0/1 mask of the same shape; None
            means every element counts.

    Returns:
        Tensor: Scalar mean (0 when nothing is valid, keeping the graph).
    """
    if valid is None:
        return loss.mean()
    valid = valid.to(loss.dtype)
    return (loss * valid).sum() / valid.sum().clamp(min=1.0)
