"""Multiway (mixture-of-modality-experts) modules of BEiT-3.

BEiT-3 (Wang et al., "Image as a Foreign Language", 2022; Shared-RIS Sec.
III-A, Eq. 4-5) routes the vision tokens and the text tokens of one joint
sequence through two copies of a module: expert ``A`` for the vision part
(the first ``split`` tokens) and expert ``B`` for the text part. The
parameter names ``A`` / ``B`` are those of the official torchscale
``MultiwayNetwork``, so released checkpoints load by name. Unlike the
official module, the split position is an argument of ``forward`` rather
than state set on every sub-module before the call.
"""
import copy
from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor

__all__ = ['Multiway']


class Multiway(nn.Module):
    """Apply expert ``A`` to ``x[:, :split]`` and expert ``B`` to the rest.

    Args:
        module (nn.Module): Expert ``A`` (vision); a deep copy with
            re-initialised parameters becomes ``B`` (text) unless
            ``module_b`` is given.
        module_b (nn.Module, optional): Expert ``B``.
    """

    def __init__(self,
                 module: nn.Module,
                 module_b: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.A = module
        if module_b is None:
            module_b = copy.deepcopy(module)
            if hasattr(module_b, 'reset_parameters'):
                module_b.reset_parameters()
        self.B = module_b

    def forward(self, x: Tensor, split: int) -> Tensor:
        """Route the tokens of ``x`` (B, N, C) by position.

        Args:
            x (Tensor): (B, N, C) joint sequence, vision tokens first.
            split (int): Number of vision tokens. ``-1`` (or ``N``) sends
                every token to ``A``, ``0`` every token to ``B``.

        Returns:
            Tensor: (B, N, C') with the two experts' outputs concatenated.
        """
        num = x.shape[1]
        if split == -1 or split == num:
            return self.A(x)
        if split == 0:
            return self.B(x)
        if not 0 < split < num:
            raise ValueError(f'multiway split {split} outside the sequence '
                             f'of {num} tokens')
        return torch.cat([self.A(x[:, :split]), self.B(x[:, split:])], dim=1)
