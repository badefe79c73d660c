"""Position encoding of ASDA's CFS branch (Sec. 3.4, Eq. 6).

The CFS encoder of the authors' public code (swagger-coder/ASDA at 97bc06c,
``model/position_encoding.py`` 30-47) adds DETR's un-normalised
``PositionEmbeddingSine`` to queries and keys: row (y) channels first,
positions counted from 1. The attention layers themselves are the shared
:class:`~mmris.models.layers.TransformerLayer` (post-norm for the public
code's CFS encoder and WCG layer).
"""
import torch
from torch import Tensor

from mmris.models.layers import sine_positional_encoding_2d

__all__ = ['detr_sine_position_2d']


def detr_sine_position_2d(height: int,
                          width: int,
                          dims: int,
                          device=None,
                          dtype=torch.float32) -> Tensor:
    """DETR 2-D sine positions (y channels first, 1-based), as tokens.

    Args:
        height (int): Rows H.
        width (int): Columns W.
        dims (int): Channels (a multiple of 4).
        device (torch.device, optional): Device of the result.
        dtype (torch.dtype): Dtype of the result.

    Returns:
        Tensor: (H*W, dims), row-major.
    """
    pe = sine_positional_encoding_2d(
        dims, height, width, device, dtype, order='yx', offset=1)
    return pe.flatten(1).transpose(0, 1)
