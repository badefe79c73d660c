"""Common base of the mask losses."""
from abc import ABCMeta, abstractmethod
from typing import Optional

import torch.nn as nn
from torch import Tensor

__all__ = ['BaseMaskLoss']


class BaseMaskLoss(nn.Module, metaclass=ABCMeta):
    """A loss of mask logits against a binary target.

    Every mask loss is called as ``loss(logits, target, valid=None)`` and is
    reported under :attr:`loss_name` (a name starting with ``loss_`` is
    summed into the total loss by the runner).

    Args:
        loss_weight (float): Multiplier of the loss.
        loss_name (str): Key of the loss in the loss dict.
    """

    def __init__(self, loss_weight: float, loss_name: str) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        """Key of the loss in the loss dict."""
        return self._loss_name

    @abstractmethod
    def forward(self,
                logits: Tensor,
                target: Tensor,
                valid: Optional[Tensor] = None) -> Tensor:
        """Weighted scalar loss of logits against a same-shape target."""
