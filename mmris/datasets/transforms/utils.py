"""Small helpers shared by the referring-segmentation transforms."""
from typing import List, Sequence, Tuple, Union

import numpy as np

__all__ = ['seg_map_keys', 'has_foreground', 'as_border_value']


def seg_map_keys(results: dict) -> List[str]:
    """Return the keys of the segmentation maps a transform must follow.

    MMSeg transforms walk ``results['seg_fields']``; mmris loaders add
    ``'gt_seg_map'`` there, but a hand-built results dict may hold a
    ``gt_seg_map`` without listing it. Both are covered, without duplicates,
    in a stable order.

    Args:
        results (dict): The results dict of a pipeline.

    Returns:
        list[str]: Keys whose value is a (H, W) map present in ``results``.
    """
    keys = list(results.get('seg_fields', []))
    if 'gt_seg_map' not in keys:
        keys.append('gt_seg_map')
    return [k for k in dict.fromkeys(keys) if results.get(k) is not None]


def has_foreground(mask: np.ndarray) -> bool:
    """Whether a binary object mask has at least one object pixel.

    Args:
        mask (np.ndarray): (H, W) mask, object pixels are non-zero.

    Returns:
        bool: True when any pixel is non-zero.
    """
    return bool(np.any(mask))


def as_border_value(value: Union[int, float, Sequence[float]],
                    channels: int) -> Union[float, Tuple[float, ...]]:
    """Turn a scalar or per-channel fill value into what cv2 / mmcv accept.

    Args:
        value (int | float | Sequence[float]): A scalar (used for every
            channel) or one value per channel.
        channels (int): Number of channels of the array to fill.

    Returns:
        float | tuple[float, ...]: A scalar for single-channel arrays, else a
        tuple with one value per channel.

    Raises:
        ValueError: If a sequence does not have one value per channel.
    """
    if isinstance(value, (int, float, np.number)):
        return float(value) if channels == 1 else (float(value), ) * channels
    value = tuple(float(v) for v in value)
    if channels == 1 and len(value) == 1:
        return value[0]
    if len(value) != channels:
        raise ValueError(f'fill value {value} has {len(value)} entries but '
                         f'the array has {channels} channels')
    return value
