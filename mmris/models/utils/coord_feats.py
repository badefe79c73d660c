"""2-D coordinate features (CoordConv) for spatial reasoning.

CRIS (Sec. 3.1, Eq. 4) concatenates a 2-D spatial coordinate feature
``F_coord`` (H x W x 2) with the multi-modal feature before a 3x3
convolution; other methods reuse the same helper.
"""
import torch
from torch import Tensor

__all__ = ['coord_feats', 'concat_coord_feats']


def coord_feats(x: Tensor) -> Tensor:
    """Normalised pixel coordinates of a feature map.

    Channel 0 is x (column), channel 1 is y (row), both
    ``linspace(-1, 1)`` over the width / height (CRIS Eq. 4, ``F_coord``).

    Args:
        x (Tensor): A feature map (B, C, H, W); only its shape, device and
            dtype are used.

    Returns:
        Tensor: (B, 2, H, W) coordinates ``[x, y]``.
    """
    b, _, h, w = x.shape
    xs = torch.linspace(-1, 1, w, device=x.device, dtype=x.dtype)
    ys = torch.linspace(-1, 1, h, device=x.device, dtype=x.dtype)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing='ij')
    return torch.stack([grid_x, grid_y]).unsqueeze(0).expand(b, -1, -1, -1)


def concat_coord_feats(x: Tensor) -> Tensor:
    """``[x, F_coord]``: the map with its coordinates appended.

    Args:
        x (Tensor): (B, C, H, W).

    Returns:
        Tensor: (B, C + 2, H, W).
    """
    return torch.cat([x, coord_feats(x)], dim=1)
