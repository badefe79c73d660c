"""Fixed sine positional encodings (Vaswani et al. 2017; DETR).

CRIS Sec. 3.2 adds fixed sine encodings to the visual tokens (2-D, as in
DETR [1]) and to the word features (1-D, as in the Transformer [44]). The
layout follows the public CRIS code: sine at even channels, cosine at odd
channels, integer positions, frequencies ``10000^(-2i/d)``; in 2-D the first
C/2 channels encode the column (x) and the next C/2 the row (y).

mmcv 2.x (mmcv-lite included) no longer ships ``SinePositionalEncoding``
(it moved to mmdet, which is not a dependency), and mmdet's version puts y
before x and normalises positions, so it would not reproduce CRIS.
"""
import math
from typing import Optional

import torch
from torch import Tensor

__all__ = ['sine_positional_encoding_1d', 'sine_positional_encoding_2d']


def _inv_freq(dims: int, device=None) -> Tensor:
    """``10000^(-2i/dims)`` for i = 0 .. dims/2 - 1."""
    return torch.exp(
        torch.arange(0, dims, 2, dtype=torch.float32, device=device) *
        -(math.log(10000.0) / dims))


def sine_positional_encoding_1d(length: int,
                                dims: int,
                                device: Optional[torch.device] = None,
                                dtype: torch.dtype = torch.float32) -> Tensor:
    """1-D sine encoding of positions 0 .. length-1.

    ``pe[p, 2i] = sin(p / 10000^(2i/d))``, ``pe[p, 2i+1] = cos(...)``.

    Args:
        length (int): Number of positions L.
        dims (int): Channels d (even).
        device (torch.device, optional): Device of the result.
        dtype (torch.dtype): Dtype of the result.

    Returns:
        Tensor: (L, d).
    """
    if dims % 2 != 0:
        raise ValueError(f'1-D sine encoding needs even dims, got {dims}')
    pos = torch.arange(length, dtype=torch.float32, device=device)[:, None]
    angles = pos * _inv_freq(dims, device)[None]
    pe = torch.zeros(length, dims, device=device)
    pe[:, 0::2] = torch.sin(angles)
    pe[:, 1::2] = torch.cos(angles)
    return pe.to(dtype)


def sine_positional_encoding_2d(dims: int,
                                height: int,
                                width: int,
                                device: Optional[torch.device] = None,
                                dtype: torch.dtype = torch.float32) -> Tensor:
    """2-D sine encoding: first C/2 channels x (column), next C/2 y (row).

    With ``h = C/2``: ``pe[2i, r, c] = sin(c * f_i)``,
    ``pe[2i+1, r, c] = cos(c * f_i)``, ``pe[h+2i, r, c] = sin(r * f_i)``,
    ``pe[h+2i+1, r, c] = cos(r * f_i)`` with ``f_i = 10000^(-2i/h)``.

    Args:
        dims (int): Channels C (a multiple of 4).
        height (int): Rows H.
        width (int): Columns W.
        device (torch.device, optional): Device of the result.
        dtype (torch.dtype): Dtype of the result.

    Returns:
        Tensor: (C, H, W).
    """
    if dims % 4 != 0:
        raise ValueError(f'2-D sine encoding needs dims % 4 == 0, got {dims}')
    half = dims // 2
    pe_x = sine_positional_encoding_1d(width, half, device)  # (W, C/2)
    pe_y = sine_positional_encoding_1d(height, half, device)  # (H, C/2)
    pe = torch.cat([
        pe_x.t()[:, None, :].expand(half, height, width),
        pe_y.t()[:, :, None].expand(half, height, width)
    ])
    return pe.to(dtype)
