"""Coarse-to-Fine Segmentation decoder (CFS) of ASDA (Sec. 3.4, Eq. 6-7).

``n`` pre-norm self-attention layers with sine positions refine F_coarse to
F_A (Eq. 6, "Local Visual Attention"); a segmentation decoder of three
(x2 up-sampling, 3x3 conv) steps and a final 1x1 conv turns F_A into the
N_c response masks M' at 8x the token grid (Eq. 7; 26 -> 208 at 416 input,
stride 2). The paper applies a sigmoid to M'; the public code a ReLU
(``out_act``, default 'relu').
"""
from typing import Optional, Sequence, Tuple

import torch.nn as nn
from torch import Tensor

from .asda_layers import SelfAttentionLayer, sine_position_2d

__all__ = ['CoarseToFineDecoder']

_ACTS = {'relu': nn.ReLU, 'sigmoid': nn.Sigmoid, 'none': nn.Identity}


class CoarseToFineDecoder(nn.Module):
    """Local visual attention (Eq. 6) + segmentation decoder (Eq. 7).

    Args:
        dims (int): Channels d of F_coarse and the attention. Defaults 512.
        num_layers (int): ``n`` attention layers (Table 3). Defaults to 2.
        num_heads (int): Attention heads. Defaults to 8.
        ffn_dims (int): MLP hidden width. Defaults to 512.
        dropout (float): Attention / MLP dropout. Defaults to 0.
        decoder_channels (Sequence[int]): Output channels of the (x2 up,
            3x3 conv-BN-ReLU) steps. Defaults to (256, 256, 256).
        out_channels (int): Output maps (N_c prototypes, or 1 for the
            single-branch ablation). Defaults to 32.
        out_act (str, optional): 'relu', 'sigmoid' or 'none' on the output.
    """

    def __init__(self,
                 dims: int = 512,
                 num_layers: int = 2,
                 num_heads: int = 8,
                 ffn_dims: int = 512,
                 dropout: float = 0.0,
                 decoder_channels: Sequence[int] = (256, 256, 256),
                 out_channels: int = 32,
                 out_act: Optional[str] = 'relu') -> None:
        super().__init__()
        if num_layers < 0:
            raise ValueError(f'num_layers must be >= 0, got {num_layers}')
        out_act = out_act or 'none'
        if out_act not in _ACTS:
            raise ValueError(f'out_act must be one of {list(_ACTS)}, got '
                             f'{out_act!r}')
        self.dims = dims
        self.encoder = nn.ModuleList([
            SelfAttentionLayer(dims, num_heads, ffn_dims, dropout)
            for _ in range(num_layers)
        ])
        blocks = []
        cin = dims
        for cout in decoder_channels:
            blocks.append(
                nn.Sequential(
                    nn.Upsample(
                        scale_factor=2, mode='bilinear', align_corners=False),
                    nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                    nn.BatchNorm2d(cout), nn.ReLU(inplace=True)))
            cin = cout
        blocks.append(nn.Conv2d(cin, out_channels, 1))
        self.mask_decoder = nn.Sequential(*blocks)
        self.out_act = _ACTS[out_act]()

    def encode(self, coarse: Tensor) -> Tuple[Tensor, Tensor]:
        """Eq. 6: refine F_coarse (B, d, H, W) to tokens F_A (B, H*W, d).

        Returns:
            tuple[Tensor, Tensor]: F_A (B, H*W, d) and the sine positions
            (H*W, d) used.
        """
        _, _, h, w = coarse.shape
        pos = sine_position_2d(h, w, self.dims, device=coarse.device,
                               dtype=coarse.dtype)
        x = coarse.flatten(2).transpose(1, 2)
        for layer in self.encoder:
            x = layer(x, pos)
        return x, pos

    def decode(self, tokens: Tensor, size: Tuple[int, int]) -> Tensor:
        """Eq. 7: tokens (B, H*W, d) -> masks (B, out_channels, sH, sW)."""
        b, n, d = tokens.shape
        x = tokens.transpose(1, 2).reshape(b, d, *size)
        return self.out_act(self.mask_decoder(x))

    def forward(self, coarse: Tensor) -> Tensor:
        """F_coarse (B, d, H, W) -> response masks M'."""
        tokens, _ = self.encode(coarse)
        return self.decode(tokens, coarse.shape[-2:])
