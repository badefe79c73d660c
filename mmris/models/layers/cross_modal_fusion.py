"""Bidirectional attention between an image and a text token stream.

The fusion step of RISCLIP's CFE (Sec. 3.2, Eq. 2) and SKE (Sec. 3.3)
modules, with the alternatives of Table 4 (a):

* ``'mhca'`` (the paper's choice): two separate multi-head cross-attentions,
  ``v' = MHCA(q=v, kv=t)`` and ``t' = MHCA(q=t, kv=v)``;
* ``'mhsa_concat'``: one multi-head self-attention over ``[v; t]``, whose
  output is split back into the two streams;
* ``'mhca_concat'``: each stream queries the concatenation ``[v; t]``.

Padded text positions are never attended to (``key_padding_mask``). With
``zero_value=True`` the value projections, their biases and the output bias
start at zero (RISCLIP App. A.1), so the fusion outputs zero until trained.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from torch import Tensor

__all__ = ['CrossModalFusion', 'zero_init_value']

FUSION_MODES = ('mhca', 'mhsa_concat', 'mhca_concat')


def zero_init_value(attn: nn.MultiheadAttention) -> None:
    """Zero the value projection (weight, bias) and the output bias.

    The attention output ``out_proj(softmax(qk) v)`` is then exactly zero.
    """
    c = attn.embed_dim
    with torch.no_grad():
        attn.in_proj_weight[2 * c:].zero_()
        if attn.in_proj_bias is not None:
            attn.in_proj_bias[2 * c:].zero_()
        if attn.out_proj.bias is not None:
            attn.out_proj.bias.zero_()


class CrossModalFusion(nn.Module):
    """Image <-> text attention in one width.

    Args:
        dims (int): Width of both streams.
        num_heads (int): Attention heads.
        mode (str): 'mhca', 'mhsa_concat' or 'mhca_concat'.
        zero_value (bool): Zero-initialise the value paths.
    """

    def __init__(self, dims: int, num_heads: int, mode: str = 'mhca',
                 zero_value: bool = False) -> None:
        super().__init__()
        if mode not in FUSION_MODES:
            raise ValueError(f'fusion mode must be one of {FUSION_MODES}, '
                             f'got {mode!r}')
        if dims % num_heads:
            raise ValueError(f'dims {dims} is not divisible by num_heads '
                             f'{num_heads}')
        self.mode = mode
        self.zero_value = zero_value
        if mode == 'mhsa_concat':
            self.attn = nn.MultiheadAttention(dims, num_heads,
                                              batch_first=True)
        else:
            self.attn_v = nn.MultiheadAttention(dims, num_heads,
                                                batch_first=True)
            self.attn_t = nn.MultiheadAttention(dims, num_heads,
                                                batch_first=True)
        self.init_weights()

    def init_weights(self) -> None:
        """Zero the value paths when ``zero_value`` is set."""
        if self.zero_value:
            for module in self.modules():
                if isinstance(module, nn.MultiheadAttention):
                    zero_init_value(module)

    def forward(self, v: Tensor, t: Tensor,
                t_pad_mask: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """Args:
            v (Tensor): (B, N_v, C) image tokens.
            t (Tensor): (B, N_t, C) text tokens.
            t_pad_mask (Tensor, optional): (B, N_t) bool, True at padding.

        Returns:
            tuple[Tensor, Tensor]: The attention outputs for the image
            (B, N_v, C) and the text stream (B, N_t, C) (to be added
            residually by the caller).
        """
        n_v = v.shape[1]
        if self.mode == 'mhca':
            dv = self.attn_v(v, t, t, key_padding_mask=t_pad_mask,
                             need_weights=False)[0]
            dt = self.attn_t(t, v, v, need_weights=False)[0]
            return dv, dt
        kv = torch.cat([v, t], dim=1)
        mask = None
        if t_pad_mask is not None:
            mask = torch.cat([t_pad_mask.new_zeros(v.shape[:2]), t_pad_mask],
                             dim=1)
        if self.mode == 'mhsa_concat':
            out = self.attn(kv, kv, kv, key_padding_mask=mask,
                            need_weights=False)[0]
            return out[:, :n_v], out[:, n_v:]
        dv = self.attn_v(v, kv, kv, key_padding_mask=mask,
                         need_weights=False)[0]
        dt = self.attn_t(t, kv, kv, key_padding_mask=mask,
                         need_weights=False)[0]
        return dv, dt
