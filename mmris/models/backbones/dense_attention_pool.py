"""CLIP's attention pool turned into a dense (per-position) operator.

CRIS Sec. 3.1 takes F_v4 (stride 32) from the last ResNet stage. The public
CRIS code feeds ``layer4`` through CLIP's attention pool with **every spatial
position as a query** (no mean/CLS token), CLIP's 7x7 positional embedding
(CLS row dropped) resized bicubically to the feature size at every forward,
and a new residual branch: ``relu(attnpool(x) + connect(x))`` with
``connect = Conv1x1(no bias) + BN``, randomly initialised.

Parameter names equal those of open_clip's / OpenAI's ``AttentionPool2d``
(``positional_embedding``, ``q_proj``, ``k_proj``, ``v_proj``, ``c_proj``)
plus ``connect.0`` (conv) and ``connect.1`` (BN), so CLIP and CRIS checkpoints
load without renaming.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

__all__ = ['DenseAttentionPool2d']


class DenseAttentionPool2d(nn.Module):
    """Dense multi-head attention pooling with a residual conv branch.

    Args:
        spacial_dim (int): Side of CLIP's positional grid (input size / 32,
            7 for CLIP at 224).
        embed_dim (int): Channels of the input (2048 for RN50/RN101).
        num_heads (int): Attention heads (embed_dim / 64 in CLIP).
        output_dim (int, optional): Output channels (CLIP's ``embed_dim``:
            1024 for RN50, 512 for RN101). Defaults to ``embed_dim``.
        with_connect (bool): Add the residual ``connect`` branch and the final
            ReLU (the public CRIS code). Defaults to True.
    """

    def __init__(self,
                 spacial_dim: int,
                 embed_dim: int,
                 num_heads: int,
                 output_dim: Optional[int] = None,
                 with_connect: bool = True) -> None:
        super().__init__()
        output_dim = output_dim or embed_dim
        if embed_dim % num_heads != 0:
            raise ValueError(f'embed_dim {embed_dim} is not divisible by '
                             f'num_heads {num_heads}')
        self.spacial_dim = spacial_dim
        self.num_heads = num_heads
        self.output_dim = output_dim
        self.positional_embedding = nn.Parameter(
            torch.randn(spacial_dim**2 + 1, embed_dim) / embed_dim**0.5)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.c_proj = nn.Linear(embed_dim, output_dim)
        self.with_connect = with_connect
        if with_connect:
            self.connect = nn.Sequential(
                nn.Conv2d(embed_dim, output_dim, 1, bias=False),
                nn.BatchNorm2d(output_dim))

    @classmethod
    def from_attention_pool(cls,
                            pool: nn.Module,
                            with_connect: bool = True
                            ) -> 'DenseAttentionPool2d':
        """Build from a CLIP ``AttentionPool2d``, sharing its parameters.

        Args:
            pool (nn.Module): open_clip's ``AttentionPool2d``.
            with_connect (bool): See the class arguments.

        Returns:
            DenseAttentionPool2d: Holding the same parameter objects (the
            ``connect`` branch is new and random).
        """
        num_pos, embed_dim = pool.positional_embedding.shape
        spacial_dim = int(round((num_pos - 1)**0.5))
        if spacial_dim**2 + 1 != num_pos:
            raise ValueError('positional embedding of the attention pool is '
                             f'not 1 + a square grid: {num_pos} rows')
        dense = cls(spacial_dim, embed_dim, pool.num_heads,
                    pool.c_proj.out_features, with_connect)
        for name in ('k_proj', 'q_proj', 'v_proj', 'c_proj'):
            setattr(dense, name, getattr(pool, name))
        dense.positional_embedding = pool.positional_embedding
        return dense

    def resized_pos_embed(self, size: Tuple[int, int]) -> Tensor:
        """CLIP's grid positional embedding resized to ``size``.

        The CLS row is dropped; the ``spacial_dim`` x ``spacial_dim`` grid is
        resized bicubically (align_corners False).

        Args:
            size (tuple[int, int]): Target (H, W).

        Returns:
            Tensor: (embed_dim, H * W).
        """
        grid = self.positional_embedding[1:]
        dims = grid.shape[-1]
        grid = grid.reshape(1, self.spacial_dim, self.spacial_dim,
                            dims).permute(0, 3, 1, 2)
        grid = F.interpolate(
            grid, size=size, mode='bicubic', align_corners=False)
        return grid.flatten(2)[0]

    def forward(self, x: Tensor) -> Tensor:
        """Dense attention pooling.

        Args:
            x (Tensor): (B, embed_dim, H, W) ``layer4`` features.

        Returns:
            Tensor: (B, output_dim, H, W); ``relu(attn(x) + connect(x))``
            with ``with_connect``, else ``attn(x)``.
        """
        b, c, h, w = x.shape
        tokens = x.flatten(2) + self.resized_pos_embed((h, w)).to(x.dtype)
        tokens = tokens.permute(2, 0, 1)  # (HW, B, C)
        out, _ = F.multi_head_attention_forward(
            query=tokens,
            key=tokens,
            value=tokens,
            embed_dim_to_check=c,
            num_heads=self.num_heads,
            q_proj_weight=self.q_proj.weight,
            k_proj_weight=self.k_proj.weight,
            v_proj_weight=self.v_proj.weight,
            in_proj_weight=None,
            in_proj_bias=torch.cat(
                [self.q_proj.bias, self.k_proj.bias, self.v_proj.bias]),
            bias_k=None,
            bias_v=None,
            add_zero_attn=False,
            dropout_p=0.,
            out_proj_weight=self.c_proj.weight,
            out_proj_bias=self.c_proj.bias,
            use_separate_proj_weight=True,
            training=self.training,
            need_weights=False)
        out = out.permute(1, 2, 0).reshape(b, -1, h, w)
        if self.with_connect:
            out = F.relu(out + self.connect(x))
        return out
