"""One Shared-space Knowledge Exploitation layer (RISCLIP Sec. 3.3).

Two streams in CLIP's image-text shared space (d = 640 / 768), each a
pre-LN block of three residual sub-layers in the paper's order (Sec. 3.3,
Fig. 2): MHCA (query: own stream, key/value: the other stream), MHSA, MLP
(d -> 4d -> d, GELU; reading A11). Both cross-attentions read the layer's
input streams (simultaneous update, reading A12). Every residual branch has
a channel-wise scaler initialised to 0.5 (Table A1, reading A13); the value
projections of MHCA and MHSA start at zero (App. A.1), the MLP does not.
Padded text is masked wherever text is a key.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from .cross_modal_fusion import CrossModalFusion, zero_init_value

__all__ = ['SKELayer']


def _mlp(dims: int, ratio: float) -> nn.Sequential:
    hidden = int(dims * ratio)
    return nn.Sequential(nn.Linear(dims, hidden), nn.GELU(),
                         nn.Linear(hidden, dims))


class SKELayer(nn.Module):
    """MHCA -> MHSA -> MLP on an image and a text stream.

    Args:
        dims (int): Shared-space width d.
        num_heads (int): Heads of every attention. Defaults to 8.
        mlp_ratio (float): MLP hidden width / d. Defaults to 4.
        scale_init (float): Initial residual scalers. Defaults to 0.5.
        fusion (str): Cross-modal step, 'mhca' or a Table 4 variant.
    """

    def __init__(self,
                 dims: int,
                 num_heads: int = 8,
                 mlp_ratio: float = 4.0,
                 scale_init: float = 0.5,
                 fusion: str = 'mhca') -> None:
        super().__init__()
        self.norm_cross_v = nn.LayerNorm(dims)
        self.norm_cross_t = nn.LayerNorm(dims)
        self.cross = CrossModalFusion(dims, num_heads, fusion,
                                      zero_value=True)
        self.norm_self_v = nn.LayerNorm(dims)
        self.norm_self_t = nn.LayerNorm(dims)
        self.self_v = nn.MultiheadAttention(dims, num_heads, batch_first=True)
        self.self_t = nn.MultiheadAttention(dims, num_heads, batch_first=True)
        self.norm_mlp_v = nn.LayerNorm(dims)
        self.norm_mlp_t = nn.LayerNorm(dims)
        self.mlp_v = _mlp(dims, mlp_ratio)
        self.mlp_t = _mlp(dims, mlp_ratio)
        for name in ('cross_v', 'cross_t', 'self_v', 'self_t', 'mlp_v',
                     'mlp_t'):
            self.register_parameter(
                f'scale_{name}',
                nn.Parameter(torch.full((dims, ), float(scale_init))))
        self.init_weights()

    def init_weights(self) -> None:
        """Zero the value paths of the attentions (App. A.1)."""
        self.cross.init_weights()
        zero_init_value(self.self_v)
        zero_init_value(self.self_t)

    def forward(self, v: Tensor, t: Tensor,
                t_pad_mask: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """Args:
            v (Tensor): (B, HW, d) patch features.
            t (Tensor): (B, L, d) word features.
            t_pad_mask (Tensor, optional): (B, L) bool, True at padding.

        Returns:
            tuple[Tensor, Tensor]: Updated (B, HW, d) and (B, L, d).
        """
        dv, dt = self.cross(self.norm_cross_v(v), self.norm_cross_t(t),
                            t_pad_mask)
        v = v + self.scale_cross_v * dv
        t = t + self.scale_cross_t * dt
        x = self.norm_self_v(v)
        v = v + self.scale_self_v * self.self_v(
            x, x, x, need_weights=False)[0]
        x = self.norm_self_t(t)
        t = t + self.scale_self_t * self.self_t(
            x, x, x, key_padding_mask=t_pad_mask, need_weights=False)[0]
        v = v + self.scale_mlp_v * self.mlp_v(self.norm_mlp_v(v))
        t = t + self.scale_mlp_t * self.mlp_t(self.norm_mlp_t(t))
        return v, t
