"""Cross-modal Feature Extraction, CFE (RISCLIP Sec. 3.2, Eq. 1-3).

Sits between the k-th text and the l-th image layer of the frozen CLIP
towers::

    t^s = W_t2s t_k,  v^s = W_v2s v_l                      (Eq. 1)
    t^m = MHCA(t^s, v^s, v^s),  v^m = MHCA(v^s, t^s, t^s)   (Eq. 2)
    t^m' = W_s2t t^m,  v^m' = W_s2v v^m                     (Eq. 3)
    t_k <- t_k + c_t * t^m',  v_l <- v_l + c_v * v^m'

``W_s2t`` / ``W_s2v`` start at zero (App. A.1, reading A8), so an untrained
CFE is the identity; ``c_t`` / ``c_v`` are channel-wise scalers initialised
to 0.5 (Table A1). The shared width is 640 (B) / 768 (L) with 10 / 12 heads
(Table A1). Padded text keys are masked (reading A7).
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from .cross_modal_fusion import CrossModalFusion

__all__ = ['CrossModalFeatureExtraction']


class CrossModalFeatureExtraction(nn.Module):
    """One CFE module.

    Args:
        visual_dims (int): Width of the image layer (C_v).
        text_dims (int): Width of the text layer (C_t).
        shared_dims (int): Width of the shared space (d_s).
        num_heads (int): Heads of each MHCA.
        scale_init (float): Initial channel-wise scaler. Defaults to 0.5.
        fusion (str): 'mhca' (Eq. 2) or a Table 4 variant, see
            :class:`CrossModalFusion`.
    """

    def __init__(self,
                 visual_dims: int,
                 text_dims: int,
                 shared_dims: int,
                 num_heads: int,
                 scale_init: float = 0.5,
                 fusion: str = 'mhca') -> None:
        super().__init__()
        self.v2s = nn.Linear(visual_dims, shared_dims)
        self.t2s = nn.Linear(text_dims, shared_dims)
        self.fusion = CrossModalFusion(shared_dims, num_heads, fusion)
        self.s2v = nn.Linear(shared_dims, visual_dims)
        self.s2t = nn.Linear(shared_dims, text_dims)
        self.scale_v = nn.Parameter(torch.full((visual_dims, ),
                                               float(scale_init)))
        self.scale_t = nn.Parameter(torch.full((text_dims, ),
                                               float(scale_init)))
        self.init_weights()

    def init_weights(self) -> None:
        """Zero the projections back from the shared space (App. A.1)."""
        for proj in (self.s2v, self.s2t):
            nn.init.zeros_(proj.weight)
            nn.init.zeros_(proj.bias)

    def forward(self, v: Tensor, t: Tensor,
                t_pad_mask: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """Args:
            v (Tensor): (B, 1 + HW, C_v) image tokens (CLS first).
            t (Tensor): (B, L, C_t) text tokens.
            t_pad_mask (Tensor, optional): (B, L) bool, True at padding.

        Returns:
            tuple[Tensor, Tensor]: Updated image and text tokens.
        """
        dv, dt = self.fusion(self.v2s(v), self.t2s(t), t_pad_mask)
        return (v + self.scale_v * self.s2v(dv),
                t + self.scale_t * self.s2t(dt))
