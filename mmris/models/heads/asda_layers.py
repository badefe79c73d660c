"""Attention layers of ASDA's CFS and WCG branches (Sec. 3.4, Eq. 6, Eq. 8).

Private helpers of :class:`~mmris.models.heads.WGDAHead`, built as the
authors' public code (swagger-coder/ASDA at 97bc06c) builds them:

* :func:`detr_sine_position_2d` - the fixed 2-D sine positions of the CFS
  encoder (``model/position_encoding.py`` 30-47: DETR's un-normalised
  ``PositionEmbeddingSine``, row channels first, positions from 1);
* :class:`EncoderLayer` - Eq. 6 "Local Visual Attention": self-attention
  with positions added to queries and keys, then an MLP, both residual;
  post-norm as in the public code (``model/transformer.py`` 147-156), or
  pre-norm (``norm_first=True``, the paper's reading ``F = MHSA(LN(F)) +
  F``);
* :class:`WordCrossAttentionLayer` - Eq. 8 "Visual and Language Local
  Attention" (``model/transformer.py`` 17-54): queries, keys and values are
  Linear + ReLU projections of the visual tokens and words, followed by a
  multi-head attention, a residual on the visual tokens, LayerNorm, an MLP
  and a second residual + LayerNorm. No positions (the public code builds
  position encodings there but never uses them).
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmris.models.utils import sine_positional_encoding_2d

__all__ = [
    'detr_sine_position_2d', 'EncoderLayer', 'WordCrossAttentionLayer'
]


def detr_sine_position_2d(height: int,
                          width: int,
                          dims: int,
                          device=None,
                          dtype=torch.float32) -> Tensor:
    """DETR 2-D sine positions (y channels first, 1-based), as tokens.

    Returns:
        Tensor: (H*W, dims), row-major.
    """
    pe = sine_positional_encoding_2d(
        dims, height, width, device, dtype, y_first=True, offset=1)
    return pe.flatten(1).transpose(0, 1)


def _ffn(dims: int, ffn_dims: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(dims, ffn_dims), nn.ReLU(inplace=True), nn.Dropout(dropout),
        nn.Linear(ffn_dims, dims))


class EncoderLayer(nn.Module):
    """Eq. 6: self-attention + MLP over the visual tokens.

    Post-norm (default, public code)::

        F = LN(F + MHSA(F + P, F + P, F));  F = LN(F + MLP(F))

    Pre-norm (``norm_first=True``)::

        F = F + MHSA(LN(F) + P, LN(F) + P, LN(F));  F = F + MLP(LN(F))

    Args:
        dims (int): Token width d.
        num_heads (int): Attention heads.
        ffn_dims (int): Hidden width of the MLP.
        dropout (float): Dropout in attention and MLP.
        norm_first (bool): Pre-norm instead of post-norm.
    """

    def __init__(self,
                 dims: int,
                 num_heads: int,
                 ffn_dims: int,
                 dropout: float = 0.0,
                 norm_first: bool = False) -> None:
        super().__init__()
        self.norm_first = norm_first
        self.attn = nn.MultiheadAttention(
            dims, num_heads, dropout=dropout, batch_first=True)
        self.norm1 = nn.LayerNorm(dims)
        self.ffn = _ffn(dims, ffn_dims, dropout)
        self.norm2 = nn.LayerNorm(dims)
        self.drop1 = nn.Dropout(dropout)
        self.drop2 = nn.Dropout(dropout)

    def forward(self, x: Tensor, pos: Tensor) -> Tensor:
        """(B, N, d) tokens, (N, d) or (B, N, d) positions -> (B, N, d)."""
        if self.norm_first:
            y = self.norm1(x)
            q = y + pos
            x = x + self.drop1(self.attn(q, q, y, need_weights=False)[0])
            return x + self.drop2(self.ffn(self.norm2(x)))
        q = x + pos
        x = self.norm1(x + self.drop1(self.attn(q, q, x,
                                                need_weights=False)[0]))
        return self.norm2(x + self.drop2(self.ffn(x)))


class WordCrossAttentionLayer(nn.Module):
    """Eq. 8: visual tokens attend to the words (public-code layout).

    ``F' = LN(F + MHA(ReLU(W_q F), ReLU(W_k T), ReLU(W_v T)))``,
    ``F_fine = LN(F' + MLP(F'))``.

    Args:
        dims (int): Visual token width d (= word width after projection).
        num_heads (int): Attention heads.
        ffn_dims (int): Hidden width of the MLP (public code: 2048).
        dropout (float): Dropout in attention and MLP.
    """

    def __init__(self,
                 dims: int,
                 num_heads: int,
                 ffn_dims: int,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.query_proj = nn.Linear(dims, dims)
        self.key_proj = nn.Linear(dims, dims)
        self.value_proj = nn.Linear(dims, dims)
        self.attn = nn.MultiheadAttention(
            dims, num_heads, dropout=dropout, batch_first=True)
        self.norm1 = nn.LayerNorm(dims)
        self.ffn = _ffn(dims, ffn_dims, dropout)
        self.norm2 = nn.LayerNorm(dims)
        self.drop = nn.Dropout(dropout)

    def forward(self,
                x: Tensor,
                words: Tensor,
                pad_mask: Optional[Tensor] = None) -> Tensor:
        """Attend from visual tokens to words.

        Args:
            x (Tensor): (B, N, d) visual tokens.
            words (Tensor): (B, L, d) word features.
            pad_mask (Tensor, optional): (B, L) bool, True at padding (those
                keys get no attention weight); None attends to every token.

        Returns:
            Tensor: (B, N, d).
        """
        q = F.relu(self.query_proj(x))
        k = F.relu(self.key_proj(words))
        v = F.relu(self.value_proj(words))
        out = self.attn(
            q, k, v, key_padding_mask=pad_mask, need_weights=False)[0]
        x = self.norm1(x + out)
        return self.norm2(x + self.drop(self.ffn(x)))
