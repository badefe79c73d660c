"""The vision-language decoder of CRIS (Sec. 3.2, Eq. 5-7).

Each layer: multi-head self-attention over the pixels (Eq. 5-6), multi-head
cross-attention from the pixels to the words (Eq. 7, first line) and an MLP
(Eq. 7, second line), all pre-norm with residual connections. Details of the
public CRIS code that the paper leaves out: the fixed sine positional
encodings are added to the queries and keys (not the values), the outputs of
both attentions are layer-normalised before the residual sum, the MLP has a
LayerNorm on its hidden layer, and a final LayerNorm follows the last layer.
Padded words are excluded through the cross-attention ``key_padding_mask``.
"""
from typing import Optional

import torch.nn as nn
from torch import Tensor

from ..layers import (TransformerLayer, sine_positional_encoding_1d,
                      sine_positional_encoding_2d)

__all__ = ['CRISDecoderLayer', 'CRISDecoder']


class CRISDecoderLayer(TransformerLayer):
    """One vision-language decoder layer (Eq. 5-7).

    A :class:`~mmris.models.layers.TransformerLayer` with self-attention,
    cross-attention to the words and an MLP, pre-norm, LayerNorm on the
    attention outputs and on the MLP's hidden layer (public CRIS code).

    Args:
        embed_dims (int): Channels C of the visual tokens.
        num_heads (int): Attention heads. Defaults to 8.
        ffn_dims (int): Hidden width of the MLP. Defaults to 2048.
        dropout (float): Dropout of attentions, MLP and residuals.
        word_dims (int, optional): Width of the word features (keys and
            values of the cross-attention). Defaults to ``embed_dims``.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int = 8,
                 ffn_dims: int = 2048,
                 dropout: float = 0.1,
                 word_dims: Optional[int] = None) -> None:
        super().__init__(
            embed_dims,
            num_heads,
            ffn_dims,
            self_attn=True,
            cross_attn=True,
            kv_dims=word_dims,
            dropout=dropout,
            norm_order='pre',
            attn_out_norm=True,
            ffn_hidden_norm=True)


class CRISDecoder(nn.Module):
    """A stack of :class:`CRISDecoderLayer` with a final LayerNorm.

    Args:
        num_layers (int): Number of layers n (3 in the paper).
        embed_dims (int): Channels C.
        num_heads (int): Attention heads.
        ffn_dims (int): MLP hidden width.
        dropout (float): Dropout.
        word_dims (int, optional): Width of the word features.
    """

    def __init__(self,
                 num_layers: int,
                 embed_dims: int,
                 num_heads: int = 8,
                 ffn_dims: int = 2048,
                 dropout: float = 0.1,
                 word_dims: Optional[int] = None) -> None:
        super().__init__()
        self.layers = nn.ModuleList([
            CRISDecoderLayer(embed_dims, num_heads, ffn_dims, dropout,
                             word_dims) for _ in range(num_layers)
        ])
        self.norm = nn.LayerNorm(embed_dims)

    def forward(self, vis: Tensor, words: Tensor,
                pad_mask: Optional[Tensor]) -> Tensor:
        """Decode a visual map with the words.

        Args:
            vis (Tensor): F_v (B, C, H, W).
            words (Tensor): F_t (B, L, C_t).
            pad_mask (Tensor, optional): (B, L) bool, True at padding.

        Returns:
            Tensor: F_c (B, C, H, W).
        """
        b, c, h, w = vis.shape
        vis_pos = sine_positional_encoding_2d(c, h, w, vis.device,
                                              vis.dtype).flatten(1).t()
        word_pos = sine_positional_encoding_1d(words.shape[1],
                                               words.shape[2], words.device,
                                               words.dtype)
        x = vis.flatten(2).transpose(1, 2)
        for layer in self.layers:
            x = layer(
                x,
                memory=words,
                query_pos=vis_pos,
                memory_pos=word_pos,
                memory_pad_mask=pad_mask)
        x = self.norm(x)
        return x.transpose(1, 2).reshape(b, c, h, w)
