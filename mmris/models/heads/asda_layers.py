"""Attention layers shared by ASDA's CFS and WCG branches (Eq. 6, Eq. 8).

Private helpers of :class:`~mmris.models.heads.WGDAHead`: the fixed 2-D sine
position encoding of the package (the public code's encoder uses "sine
positions"; shared with CRIS), a pre-norm self-attention layer (Eq. 6, the
"Local Visual Attention") and a pre-norm cross-attention layer over the word
features (Eq. 8, the "Visual and Language Local Attention").
"""
from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor

from mmris.models.utils import sine_positional_encoding_2d

__all__ = ['sine_position_2d', 'SelfAttentionLayer', 'CrossAttentionLayer']


def sine_position_2d(height: int,
                     width: int,
                     dims: int,
                     device=None,
                     dtype=torch.float32) -> Tensor:
    """2-D sine encoding flattened to tokens (the shared CRIS-layout
    :func:`~mmris.models.utils.sine_positional_encoding_2d`).

    Returns:
        Tensor: (H*W, dims), row-major.
    """
    pe = sine_positional_encoding_2d(dims, height, width, device, dtype)
    return pe.flatten(1).transpose(0, 1)


def _ffn(dims: int, ffn_dims: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(dims, ffn_dims), nn.ReLU(inplace=True), nn.Dropout(dropout),
        nn.Linear(ffn_dims, dims))


class SelfAttentionLayer(nn.Module):
    """Eq. 6: ``F = MHSA(LN(F)) + F; F = MLP(LN(F)) + F``.

    Positions are added to queries and keys.

    Args:
        dims (int): Token width d.
        num_heads (int): Attention heads.
        ffn_dims (int): Hidden width of the MLP.
        dropout (float): Dropout in attention and MLP.
    """

    def __init__(self,
                 dims: int,
                 num_heads: int,
                 ffn_dims: int,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dims)
        self.attn = nn.MultiheadAttention(
            dims, num_heads, dropout=dropout, batch_first=True)
        self.norm2 = nn.LayerNorm(dims)
        self.ffn = _ffn(dims, ffn_dims, dropout)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, pos: Tensor) -> Tensor:
        """(B, N, d) tokens, (N, d) or (B, N, d) positions -> (B, N, d)."""
        y = self.norm1(x)
        q = y + pos
        x = x + self.drop(self.attn(q, q, y, need_weights=False)[0])
        return x + self.drop(self.ffn(self.norm2(x)))


class CrossAttentionLayer(nn.Module):
    """Eq. 8: ``F'_K = MHCA(LN(F_A), f_T) + F_A; F = MLP(LN(F'_K)) + F'_K``.

    Args:
        dims (int): Visual token width d.
        num_heads (int): Attention heads.
        ffn_dims (int): Hidden width of the MLP.
        dropout (float): Dropout in attention and MLP.
    """

    def __init__(self,
                 dims: int,
                 num_heads: int,
                 ffn_dims: int,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dims)
        self.norm_words = nn.LayerNorm(dims)
        self.attn = nn.MultiheadAttention(
            dims, num_heads, dropout=dropout, batch_first=True)
        self.norm2 = nn.LayerNorm(dims)
        self.ffn = _ffn(dims, ffn_dims, dropout)
        self.drop = nn.Dropout(dropout)

    def forward(self,
                x: Tensor,
                pos: Tensor,
                words: Tensor,
                pad_mask: Optional[Tensor] = None) -> Tensor:
        """Attend from visual tokens to words.

        Args:
            x (Tensor): (B, N, d) visual tokens.
            pos (Tensor): (N, d) positions added to the queries.
            words (Tensor): (B, L, d) word features.
            pad_mask (Tensor, optional): (B, L) bool, True at padding (those
                keys get no attention weight); None attends to every token.

        Returns:
            Tensor: (B, N, d).
        """
        q = self.norm1(x) + pos
        k = self.norm_words(words)
        out = self.attn(
            q, k, k, key_padding_mask=pad_mask, need_weights=False)[0]
        x = x + self.drop(out)
        return x + self.drop(self.ffn(self.norm2(x)))
