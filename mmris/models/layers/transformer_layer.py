"""The one attention-layer family of mmris.

A layer is up to three residual sub-layers, in this order: self-attention
over the queries, cross-attention from the queries to a memory (the words),
and a feed-forward network (Vaswani et al. 2017). What the methods differ in
are arguments, not classes:

* ``norm_order``: 'pre' (``x + f(LN(x))``, CRIS Eq. 5-7, ViT) or 'post'
  (``LN(x + f(x))``, DETR; ASDA's public CFS encoder and WCG layer);
* ``attn_out_norm``: a LayerNorm on each attention output before the
  residual sum (public CRIS code);
* ``ffn_hidden_norm``: a LayerNorm on the FFN's hidden layer (public CRIS);
* ``cross_input_proj``: Linear projections of query, key and value with an
  activation before the cross-attention (ASDA's WCG, Eq. 8 in the public
  code);
* positions added to queries and keys (never to values), padded memory keys
  excluded through ``key_padding_mask`` (True = padding, the package's
  convention, docs/design.md section 2.1).

Sub-layer attribute names are stable (``self_attn``, ``cross_attn``,
``ffn``; ``norm1`` / ``norm2`` / ``norm3`` belong to the self-attention,
cross-attention and FFN sub-layers) so checkpoint converters map onto them.
"""
from typing import Optional

import torch.nn as nn
from mmcv.cnn import build_activation_layer
from torch import Tensor

__all__ = ['FFN', 'TransformerLayer', 'TransformerStack']


def _with_pos(x: Tensor, pos: Optional[Tensor]) -> Tensor:
    return x if pos is None else x + pos


class FFN(nn.Sequential):
    """Linear -> activation -> dropout [-> LayerNorm] -> Linear.

    Args:
        embed_dims (int): Input and output width.
        ffn_dims (int): Hidden width.
        act_cfg (dict): Activation. Defaults to ReLU.
        dropout (float): Dropout after the activation.
        hidden_norm (bool): LayerNorm on the hidden layer (public CRIS).
    """

    def __init__(self,
                 embed_dims: int,
                 ffn_dims: int,
                 act_cfg: dict = dict(type='ReLU', inplace=True),
                 dropout: float = 0.,
                 hidden_norm: bool = False) -> None:
        layers = [
            nn.Linear(embed_dims, ffn_dims),
            build_activation_layer(act_cfg),
            nn.Dropout(dropout)
        ]
        if hidden_norm:
            layers.append(nn.LayerNorm(ffn_dims))
        layers.append(nn.Linear(ffn_dims, embed_dims))
        super().__init__(*layers)


class _InputProjection(nn.Module):
    """Activated Linear projections of query, key and value (ASDA WCG)."""

    def __init__(self, embed_dims: int, kv_dims: int, act_cfg: dict) -> None:
        super().__init__()
        self.query = nn.Linear(embed_dims, embed_dims)
        self.key = nn.Linear(kv_dims, embed_dims)
        self.value = nn.Linear(kv_dims, embed_dims)
        self.act = build_activation_layer(act_cfg)

    def forward(self, query: Tensor, key: Tensor, value: Tensor):
        return (self.act(self.query(query)), self.act(self.key(key)),
                self.act(self.value(value)))


class TransformerLayer(nn.Module):
    """Self-attention, cross-attention and FFN sub-layers (each optional).

    Args:
        embed_dims (int): Width C of the query tokens.
        num_heads (int): Attention heads.
        ffn_dims (int, optional): FFN hidden width; None = no FFN.
        self_attn (bool): With a self-attention sub-layer.
        cross_attn (bool): With a cross-attention sub-layer.
        kv_dims (int, optional): Width of the memory (keys and values of the
            cross-attention). Defaults to ``embed_dims``.
        dropout (float): Attention, FFN and residual dropout.
        norm_order (str): 'pre' or 'post'. Defaults to 'pre'.
        attn_out_norm (bool): LayerNorm on attention outputs before the
            residual sum.
        ffn_hidden_norm (bool): LayerNorm on the FFN hidden layer.
        act_cfg (dict): FFN activation. Defaults to ReLU.
        cross_input_proj (dict, optional): ``dict(act_cfg=...)`` to project
            query / key / value with Linear + activation before the
            cross-attention (its key/value width is then ``embed_dims``).
        attn_residual_dropout (float, optional): Dropout on the attention
            outputs before the residual sum; defaults to ``dropout``
            (ASDA's public WCG layer has none there).
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 ffn_dims: Optional[int] = None,
                 self_attn: bool = True,
                 cross_attn: bool = False,
                 kv_dims: Optional[int] = None,
                 dropout: float = 0.,
                 norm_order: str = 'pre',
                 attn_out_norm: bool = False,
                 ffn_hidden_norm: bool = False,
                 act_cfg: dict = dict(type='ReLU', inplace=True),
                 cross_input_proj: Optional[dict] = None,
                 attn_residual_dropout: Optional[float] = None) -> None:
        super().__init__()
        if attn_residual_dropout is None:
            attn_residual_dropout = dropout
        if norm_order not in ('pre', 'post'):
            raise ValueError(f"norm_order must be 'pre' or 'post', got "
                             f'{norm_order!r}')
        if not (self_attn or cross_attn or ffn_dims):
            raise ValueError('TransformerLayer needs at least one sub-layer')
        self.norm_order = norm_order
        kv_dims = kv_dims or embed_dims
        if self_attn:
            self.norm1 = nn.LayerNorm(embed_dims)
            self.self_attn = nn.MultiheadAttention(
                embed_dims, num_heads, dropout=dropout, batch_first=True)
            if attn_out_norm:
                self.self_attn_norm = nn.LayerNorm(embed_dims)
            self.dropout1 = nn.Dropout(attn_residual_dropout)
        if cross_attn:
            self.norm2 = nn.LayerNorm(embed_dims)
            if cross_input_proj is not None:
                self.cross_input_proj = _InputProjection(
                    embed_dims, kv_dims,
                    cross_input_proj.get('act_cfg', dict(type='ReLU')))
                kv_dims = embed_dims
            self.cross_attn = nn.MultiheadAttention(
                embed_dims,
                num_heads,
                dropout=dropout,
                kdim=kv_dims,
                vdim=kv_dims,
                batch_first=True)
            if attn_out_norm:
                self.cross_attn_norm = nn.LayerNorm(embed_dims)
            self.dropout2 = nn.Dropout(attn_residual_dropout)
        if ffn_dims:
            self.norm3 = nn.LayerNorm(embed_dims)
            self.ffn = FFN(embed_dims, ffn_dims, act_cfg, dropout,
                           ffn_hidden_norm)
            self.dropout3 = nn.Dropout(dropout)

    def _residual(self, x: Tensor, norm: nn.Module, fn, drop: nn.Module,
                  out_norm: Optional[nn.Module]) -> Tensor:
        if self.norm_order == 'pre':
            y = fn(norm(x))
            if out_norm is not None:
                y = out_norm(y)
            return x + drop(y)
        y = fn(x)
        if out_norm is not None:
            y = out_norm(y)
        return norm(x + drop(y))

    def forward(self,
                query: Tensor,
                memory: Optional[Tensor] = None,
                query_pos: Optional[Tensor] = None,
                memory_pos: Optional[Tensor] = None,
                memory_pad_mask: Optional[Tensor] = None) -> Tensor:
        """Update the query tokens.

        Args:
            query (Tensor): (B, N, C) tokens.
            memory (Tensor, optional): (B, L, C_kv) memory (the words);
                needed by the cross-attention.
            query_pos (Tensor, optional): (N, C) or (B, N, C) positions
                added to queries and keys.
            memory_pos (Tensor, optional): (L, C_kv) or (B, L, C_kv)
                positions added to the memory keys.
            memory_pad_mask (Tensor, optional): (B, L) bool, True at padded
                memory tokens (given no attention weight).

        Returns:
            Tensor: (B, N, C).
        """
        x = query
        if hasattr(self, 'self_attn'):

            def self_attn(y: Tensor) -> Tensor:
                q = _with_pos(y, query_pos)
                return self.self_attn(q, q, y, need_weights=False)[0]

            x = self._residual(x, self.norm1, self_attn, self.dropout1,
                               getattr(self, 'self_attn_norm', None))
        if hasattr(self, 'cross_attn'):
            if memory is None:
                raise ValueError('this TransformerLayer has a cross-attention'
                                 ' and needs `memory`')

            def cross_attn(y: Tensor) -> Tensor:
                q = _with_pos(y, query_pos)
                k = _with_pos(memory, memory_pos)
                v = memory
                if hasattr(self, 'cross_input_proj'):
                    q, k, v = self.cross_input_proj(q, k, v)
                return self.cross_attn(
                    q,
                    k,
                    v,
                    key_padding_mask=memory_pad_mask,
                    need_weights=False)[0]

            x = self._residual(x, self.norm2, cross_attn, self.dropout2,
                               getattr(self, 'cross_attn_norm', None))
        if hasattr(self, 'ffn'):
            x = self._residual(x, self.norm3, self.ffn, self.dropout3, None)
        return x


class TransformerStack(nn.Module):
    """``num_layers`` identical :class:`TransformerLayer` and an optional
    final LayerNorm.

    Args:
        num_layers (int): Number of layers.
        final_norm (bool): LayerNorm after the last layer.
        **layer_kwargs: Arguments of :class:`TransformerLayer`
            (``embed_dims`` and ``num_heads`` required).
    """

    def __init__(self,
                 num_layers: int,
                 final_norm: bool = False,
                 **layer_kwargs) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            [TransformerLayer(**layer_kwargs) for _ in range(num_layers)])
        if final_norm:
            self.norm = nn.LayerNorm(layer_kwargs['embed_dims'])

    def forward(self, query: Tensor, **kwargs) -> Tensor:
        """Run the layers (keyword arguments as
        :meth:`TransformerLayer.forward`), then the final norm."""
        for layer in self.layers:
            query = layer(query, **kwargs)
        if hasattr(self, 'norm'):
            query = self.norm(query)
        return query
