"""The residual attention over a joint vision-text sequence of Shared-RIS.

Shared-RIS Eq. 6 (Shared FPN) and Eq. 8 (Shared Mask Decoder) apply
``x + MSA(LN(x))`` to the joint sequence ``x = [vision tokens; words]``: one
self-attention shared by both modalities ('self'). Tab. VII(b) and VIII(b)
compare it with two alternatives that this module also provides:

* 'cross': the vision tokens attend to the words (queries vision, keys and
  values text); the words pass through unchanged;
* 'bidirectional': additionally the words attend to the vision tokens with a
  second attention, as in Grounding DINO's bi-directional fusion (its
  attention block is replaced here by two standard multi-head attentions;
  the paper gives no details of its variant).

Padded words are masked keys in every mode.
"""
import torch
import torch.nn as nn
from torch import Tensor

__all__ = ['JointAttention', 'FUSION_MODES']

FUSION_MODES = ('self', 'cross', 'bidirectional')


class JointAttention(nn.Module):
    """``x + Attn(LN(x))`` on a joint sequence, vision tokens first.

    Args:
        embed_dims (int): Width of the tokens.
        num_heads (int): Attention heads.
        mode (str): 'self' (Shared-RIS), 'cross' or 'bidirectional'.
        dropout (float): Attention dropout. Defaults to 0.
    """

    def __init__(self, embed_dims: int, num_heads: int, mode: str = 'self',
                 dropout: float = 0.0) -> None:
        super().__init__()
        if mode not in FUSION_MODES:
            raise ValueError(f'fusion mode must be one of {FUSION_MODES}, '
                             f'got {mode!r}')
        self.mode = mode
        self.norm = nn.LayerNorm(embed_dims)
        self.attn = nn.MultiheadAttention(
            embed_dims, num_heads, dropout=dropout, batch_first=True)
        if mode == 'bidirectional':
            self.text_attn = nn.MultiheadAttention(
                embed_dims, num_heads, dropout=dropout, batch_first=True)

    def forward(self, x: Tensor, num_visual: int,
                key_padding_mask: Tensor) -> Tensor:
        """Update the joint sequence.

        Args:
            x (Tensor): (B, N_v + L, C), the N_v vision tokens first.
            num_visual (int): N_v.
            key_padding_mask (Tensor): Bool (B, N_v + L), True at padding.

        Returns:
            Tensor: (B, N_v + L, C).
        """
        y = self.norm(x)
        if self.mode == 'self':
            return x + self.attn(
                y, y, y, key_padding_mask=key_padding_mask,
                need_weights=False)[0]
        yv, yt = y[:, :num_visual], y[:, num_visual:]
        vis = x[:, :num_visual] + self.attn(
            yv, yt, yt, key_padding_mask=key_padding_mask[:, num_visual:],
            need_weights=False)[0]
        words = x[:, num_visual:]
        if self.mode == 'bidirectional':
            words = words + self.text_attn(
                yt, yv, yv, need_weights=False)[0]
        return torch.cat([vis, words], dim=1)
