"""Fixed sine positional encodings (Vaswani et al. 2017; DETR, Carion et al.
2020), the one home of the 2-D sine encoding in mmris.

Layout: sine at even channels, cosine at odd channels, frequencies
``temperature^(-2i/d)``. In 2-D, half of the channels encode the column (x)
and half the row (y); which half comes first and how positions are counted
are arguments, so the one function covers

* CRIS (Sec. 3.2, public code): x first, integer positions from 0;
* DETR / ASDA's public CFS encoder (``PositionEmbeddingSine``): y first,
  positions from 1 (``offset=1``), optionally normalised to
  ``[0, scale]`` by the map size.

mmcv 2.x no longer ships ``SinePositionalEncoding`` (it moved to mmdet,
which mmris does not depend on).
"""
import math
from typing import Optional

import torch
from torch import Tensor

__all__ = ['sine_positional_encoding_1d', 'sine_positional_encoding_2d']


def _inv_freq(dims: int, temperature: float, device=None) -> Tensor:
    """``temperature^(-2i/dims)`` for i = 0 .. dims/2 - 1."""
    return torch.exp(
        torch.arange(0, dims, 2, dtype=torch.float32, device=device) *
        -(math.log(temperature) / dims))


def _encode(pos: Tensor, dims: int, temperature: float) -> Tensor:
    """(N,) float positions -> (N, dims), sin at even, cos at odd."""
    angles = pos[:, None] * _inv_freq(dims, temperature, pos.device)[None]
    pe = torch.zeros(pos.shape[0], dims, device=pos.device)
    pe[:, 0::2] = torch.sin(angles)
    pe[:, 1::2] = torch.cos(angles)
    return pe


def sine_positional_encoding_1d(length: int,
                                dims: int,
                                device: Optional[torch.device] = None,
                                dtype: torch.dtype = torch.float32,
                                temperature: float = 10000.) -> Tensor:
    """1-D sine encoding of positions 0 .. length-1.

    ``pe[p, 2i] = sin(p / T^(2i/d))``, ``pe[p, 2i+1] = cos(...)``.

    Args:
        length (int): Number of positions L.
        dims (int): Channels d (even).
        device (torch.device, optional): Device of the result.
        dtype (torch.dtype): Dtype of the result.
        temperature (float): T. Defaults to 10000.

    Returns:
        Tensor: (L, d).
    """
    if dims % 2 != 0:
        raise ValueError(f'1-D sine encoding needs even dims, got {dims}')
    pos = torch.arange(length, dtype=torch.float32, device=device)
    return _encode(pos, dims, temperature).to(dtype)


def sine_positional_encoding_2d(dims: int,
                                height: int,
                                width: int,
                                device: Optional[torch.device] = None,
                                dtype: torch.dtype = torch.float32,
                                order: str = 'xy',
                                offset: float = 0.,
                                normalize: bool = False,
                                scale: float = 2 * math.pi,
                                temperature: float = 10000.,
                                eps: float = 1e-6) -> Tensor:
    """2-D sine encoding of a (H, W) grid.

    With ``h = C/2`` and ``f_i = T^(-2i/h)``, for the half that encodes the
    column: ``pe[2i, r, c] = sin(x_c * f_i)``, ``pe[2i+1, r, c] =
    cos(x_c * f_i)`` and likewise with ``y_r`` for the row half, where
    ``x_c = c + offset`` (times ``scale / (W - 1 + offset + eps)`` when
    ``normalize``; DETR divides by the last cumulative position).

    Args:
        dims (int): Channels C (a multiple of 4).
        height (int): Rows H.
        width (int): Columns W.
        device (torch.device, optional): Device of the result.
        dtype (torch.dtype): Dtype of the result.
        order (str): 'xy' (CRIS: columns in the first C/2 channels) or 'yx'
            (DETR / ASDA: rows first).
        offset (float): Added to the 0-based positions (DETR: 1).
        normalize (bool): Scale positions to ``[0, scale]`` (DETR option).
        scale (float): Range of normalised positions. Defaults to 2 pi.
        temperature (float): T. Defaults to 10000.
        eps (float): Added to the divisor when normalising.

    Returns:
        Tensor: (C, H, W).
    """
    if dims % 4 != 0:
        raise ValueError(f'2-D sine encoding needs dims % 4 == 0, got {dims}')
    if order not in ('xy', 'yx'):
        raise ValueError(f"order must be 'xy' or 'yx', got {order!r}")
    half = dims // 2

    def positions(n: int) -> Tensor:
        pos = torch.arange(n, dtype=torch.float32, device=device) + offset
        if normalize:
            pos = pos / (pos[-1] + eps) * scale
        return pos

    pe_x = _encode(positions(width), half, temperature)  # (W, C/2)
    pe_y = _encode(positions(height), half, temperature)  # (H, C/2)
    x_part = pe_x.t()[:, None, :].expand(half, height, width)
    y_part = pe_y.t()[:, :, None].expand(half, height, width)
    parts = [x_part, y_part] if order == 'xy' else [y_part, x_part]
    return torch.cat(parts).to(dtype)
