"""A frozen CLIP transformer layer with adapters (RISCLIP Sec. 3.1).

Wraps one open_clip ``ResidualAttentionBlock`` (``ln_1, attn, ls_1, ln_2,
mlp, ls_2``) without copying it, and adds what RISCLIP trains around it:

* two adapters "residually attached after the MHSA and MLP modules"
  (Sec. 3.1), in the Houlsby placement (reference reading A5)::

      h = MHSA(ln_1(x)); x = x + h + A_1(h)
      h = MLP(ln_2(x));  x = x + h + A_2(h)

* a learnable attention temperature ``tau`` that multiplies the attention
  logits (App. A.1 "learnable temperatures", reading A6; init 1 = CLIP);
* the MaskCLIP value path for the last image layer (Sec. 3.1 "Patch-level
  grounding map", Zhou et al. 2022): the attention output is replaced by
  ``out_proj(W_v ln_1(x) + b_v)``, skipping the query-key product, and the
  residual and MLP follow as usual (reading A9).

The attention is computed from the block's own ``nn.MultiheadAttention``
weights, so the wrapped block's parameters stay CLIP's.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .adapter import Adapter

__all__ = ['AdaptedCLIPBlock']


class AdaptedCLIPBlock(nn.Module):
    """One CLIP layer with optional adapters, temperature and MaskCLIP path.

    Args:
        block (nn.Module): An open_clip ``ResidualAttentionBlock`` with a
            batch-first ``nn.MultiheadAttention``.
        adapter_ratio (float, optional): Adapter bottleneck as a fraction of
            the width (0.5 in RISCLIP); None adds no adapters.
        adapter_scale_init (float): Initial adapter scaler. Defaults to 0.6.
        temperature (bool): Add a learnable attention temperature.
        maskclip (bool): Use the MaskCLIP value path (last image layer).
    """

    def __init__(self,
                 block: nn.Module,
                 adapter_ratio: Optional[float] = None,
                 adapter_scale_init: float = 0.6,
                 temperature: bool = False,
                 maskclip: bool = False) -> None:
        super().__init__()
        attn = getattr(block, 'attn', None)
        if not isinstance(attn, nn.MultiheadAttention) or not getattr(
                attn, 'batch_first', False):
            raise TypeError('AdaptedCLIPBlock needs an open_clip '
                            'ResidualAttentionBlock with a batch-first '
                            f'nn.MultiheadAttention, got {type(attn)}')
        if attn.in_proj_weight is None:
            raise TypeError('separate q/k/v projections are not supported')
        self.block = block
        self.dims = attn.embed_dim
        self.num_heads = attn.num_heads
        self.maskclip = maskclip
        if adapter_ratio is not None:
            hidden = max(1, int(round(self.dims * adapter_ratio)))
            self.adapter_attn = Adapter(self.dims, hidden, adapter_scale_init)
            self.adapter_mlp = Adapter(self.dims, hidden, adapter_scale_init)
        else:
            self.adapter_attn = self.adapter_mlp = None
        # the MaskCLIP path has no attention logits to scale
        self.temperature = (nn.Parameter(torch.ones(()))
                            if temperature and not maskclip else None)

    def attention(self, x: Tensor,
                  attn_mask: Optional[Tensor] = None) -> Tensor:
        """Self-attention of the wrapped block (or its MaskCLIP value path).

        Args:
            x (Tensor): (B, N, C) normalised tokens.
            attn_mask (Tensor, optional): (N, N) additive mask.

        Returns:
            Tensor: (B, N, C).
        """
        attn = self.block.attn
        c = self.dims
        if self.maskclip:
            bias = (attn.in_proj_bias[2 * c:]
                    if attn.in_proj_bias is not None else None)
            value = F.linear(x, attn.in_proj_weight[2 * c:], bias)
            return attn.out_proj(value)
        b, n, _ = x.shape
        qkv = F.linear(x, attn.in_proj_weight, attn.in_proj_bias)
        q, k, v = qkv.view(b, n, 3, self.num_heads,
                           c // self.num_heads).permute(2, 0, 3, 1, 4)
        if self.temperature is not None:
            q = q * self.temperature.to(q.dtype)
        if attn_mask is not None:
            attn_mask = attn_mask.to(q.dtype)
        # the wrapped attention's dropout, in training only (as
        # nn.MultiheadAttention); 0 in CLIP
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask,
            dropout_p=attn.dropout if self.training else 0.)
        return attn.out_proj(out.transpose(1, 2).reshape(b, n, c))

    def forward(self, x: Tensor, attn_mask: Optional[Tensor] = None) -> Tensor:
        """Args:
            x (Tensor): (B, N, C) tokens.
            attn_mask (Tensor, optional): (N, N) additive mask (the causal
                mask of the text tower).

        Returns:
            Tensor: (B, N, C).
        """
        blk = self.block
        h = blk.ls_1(self.attention(blk.ln_1(x), attn_mask))
        x = x + h
        if self.adapter_attn is not None:
            x = x + self.adapter_attn(h)
        h = blk.ls_2(blk.mlp(blk.ln_2(x)))
        x = x + h
        if self.adapter_mlp is not None:
            x = x + self.adapter_mlp(h)
        return x
