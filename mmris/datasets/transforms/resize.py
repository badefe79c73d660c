"""Resizing to the network input size for referring segmentation.

Two protocols are supported:

- :class:`LetterboxResize`: keep the aspect ratio, fit the image inside the
  target size and pad it, centred, to exactly that size (the CRIS / ASDA
  protocol). The padding is recorded in ``letterbox_padding`` so that the
  segmentor can crop it off and resize the prediction to ``ori_shape``.
- :class:`RefResize`: mmseg's :class:`~mmseg.datasets.transforms.Resize`
  (plain resize when ``keep_ratio=False``) that records
  ``letterbox_padding = (0, 0, 0, 0)``. Plain mmseg ``Resize`` works in mmris
  pipelines too; a missing ``letterbox_padding`` means "no letterbox".
"""
from typing import Sequence, Tuple, Union

import mmcv
from mmcv.transforms import BaseTransform
from mmseg.datasets.transforms import Resize

from mmris.registry import TRANSFORMS
from .utils import as_border_value, seg_map_keys

__all__ = ['LetterboxResize', 'RefResize', 'letterbox_geometry', 'output_hw']


def letterbox_geometry(
        ori_hw: Tuple[int, int],
        scale: Tuple[int, int]) -> Tuple[Tuple[int, int], Tuple[int, ...]]:
    """Compute the resized size and the padding of a centred letterbox.

    The image is scaled by ``min(H / h, W / w)``; the resized side lengths
    are rounded to integers (and never exceed the target), and the remaining
    space is split between the two sides, the extra pixel of an odd split
    going to the right / bottom.

    Args:
        ori_hw (tuple[int, int]): Input size ``(h, w)``.
        scale (tuple[int, int]): Target size ``(H, W)``.

    Returns:
        tuple: ``((new_h, new_w), (left, right, top, bottom))`` with
        ``new_w + left + right == W`` and ``new_h + top + bottom == H``.
    """
    h, w = int(ori_hw[0]), int(ori_hw[1])
    out_h, out_w = int(scale[0]), int(scale[1])
    if h <= 0 or w <= 0:
        raise ValueError(f'cannot letterbox an image of size {(h, w)}')
    ratio = min(out_h / h, out_w / w)
    new_h = min(out_h, max(1, int(round(h * ratio))))
    new_w = min(out_w, max(1, int(round(w * ratio))))
    left = (out_w - new_w) // 2
    top = (out_h - new_h) // 2
    padding = (left, out_w - new_w - left, top, out_h - new_h - top)
    return (new_h, new_w), padding


def output_hw(scale: Union[int, Sequence[int]], owner: str) -> Tuple[int, int]:
    """Check an output size: an int (square) or ``(h, w)``, positive ints.

    Args:
        scale (int | Sequence[int]): The size.
        owner (str): Name for the error message.

    Returns:
        tuple[int, int]: ``(h, w)``.
    """
    if isinstance(scale, int):
        scale = (scale, scale)
    scale = tuple(scale)
    if len(scale) != 2 or not all(
            isinstance(s, int) and s > 0 for s in scale):
        raise ValueError(f'{owner}: scale must be a positive int or a pair '
                         f'of positive ints (h, w), got {scale}')
    return scale


@TRANSFORMS.register_module()
class LetterboxResize(BaseTransform):
    """Aspect-preserving resize followed by centred padding to a fixed size.

    This is the input protocol of CRIS and ASDA: the image is resized so that
    it fits inside ``scale`` with its aspect ratio kept, and is then padded
    equally on both sides (the odd pixel goes right / bottom) to exactly
    ``scale``. CRIS pads with the CLIP mean colour; note that ``pad_val`` is
    given in the image's channel order, which is BGR after
    :class:`LoadRefImageFromFile` (the CLIP mean is then
    ``(104.04, 116.75, 122.77)``).

    All segmentation maps (``seg_fields`` and ``gt_seg_map``) are resized
    with nearest-neighbour interpolation and padded with ``seg_pad_val``.

    Undoing it: ``pred[top:H - bottom, left:W - right]`` resized to
    ``ori_shape`` gives the prediction at the original resolution; the
    padding values are exact integers in output pixels.

    The resize is deterministic, so there is no empty-mask retry: an object
    thinner than one output pixel may vanish from the resized
    ``gt_seg_map`` (training only; evaluation compares at the original
    resolution).

    Required Keys:

    - img
    - gt_seg_map (optional)
    - seg_fields (optional)

    Modified Keys:

    - img
    - img_shape
    - gt_seg_map (and every other key of seg_fields)

    Added Keys:

    - scale_factor (tuple[float, float]): ``(w_scale, h_scale)`` of the
      resize step, as in mmcv.
    - keep_ratio (bool): always True.
    - pad_shape (tuple[int, int]): equal to ``img_shape``.
    - letterbox_padding (tuple[int, int, int, int]): ``(left, right, top,
      bottom)`` padding in output pixels.

    Args:
        scale (int | tuple[int, int]): Output size as ``(h, w)``; an int means
            a square. Note the order: mmcv's ``Resize`` takes ``(w, h)``.
            Defaults to (416, 416).
        pad_val (float | Sequence[float]): Image padding value, a scalar or
            one value per channel in the image's channel order.
            Defaults to (0, 0, 0).
        seg_pad_val (int): Padding value of the segmentation maps.
            Defaults to 0 (background).
        interpolation (str): Image interpolation of :func:`mmcv.imresize`
            ('nearest', 'bilinear', 'bicubic', 'area', 'lanczos').
            Defaults to 'bilinear'.
    """

    def __init__(self,
                 scale: Union[int, Tuple[int, int]] = (416, 416),
                 pad_val: Union[float, Sequence[float]] = (0, 0, 0),
                 seg_pad_val: int = 0,
                 interpolation: str = 'bilinear') -> None:
        self.scale = output_hw(scale, 'LetterboxResize')
        self.pad_val = pad_val
        self.seg_pad_val = seg_pad_val
        self.interpolation = interpolation

    def transform(self, results: dict) -> dict:
        """Letterbox the image and its segmentation maps.

        Args:
            results (dict): Results dict with ``img``.

        Returns:
            dict: The letterboxed results.
        """
        img = results['img']
        h, w = img.shape[:2]
        (new_h, new_w), padding = letterbox_geometry((h, w), self.scale)
        left, right, top, bottom = padding
        # mmcv.impad's padding order is (left, top, right, bottom).
        pad4 = (left, top, right, bottom)

        channels = 1 if img.ndim == 2 else img.shape[2]
        img = mmcv.imresize(
            img, (new_w, new_h), interpolation=self.interpolation)
        img = mmcv.impad(
            img, padding=pad4, pad_val=as_border_value(self.pad_val, channels))

        for key in seg_map_keys(results):
            seg = mmcv.imresize(
                results[key], (new_w, new_h), interpolation='nearest')
            results[key] = mmcv.impad(
                seg, padding=pad4, pad_val=self.seg_pad_val)

        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['pad_shape'] = img.shape[:2]
        results['scale_factor'] = (new_w / w, new_h / h)
        results['keep_ratio'] = True
        results['letterbox_padding'] = padding
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(scale={self.scale}, '
                f'pad_val={self.pad_val}, seg_pad_val={self.seg_pad_val}, '
                f"interpolation='{self.interpolation}')")


@TRANSFORMS.register_module()
class RefResize(Resize):
    """MMSeg's ``Resize`` that also records an empty letterbox.

    Same arguments and behaviour as :class:`mmseg.datasets.transforms.Resize`
    (``scale`` is ``(w, h)``; ``keep_ratio=False`` is the plain resize);
    additionally sets ``letterbox_padding = (0, 0, 0, 0)`` so that the
    post-processing has one code path. Using mmseg's ``Resize`` directly is
    equivalent: mmris treats a missing ``letterbox_padding`` as no padding.

    Added Keys:

    - letterbox_padding (tuple[int, int, int, int]): ``(0, 0, 0, 0)``.

    Also see mmseg's ``Resize`` for its Required / Modified / Added Keys.
    """

    def transform(self, results: dict) -> dict:
        """Resize and record ``letterbox_padding``.

        Args:
            results (dict): Results dict with ``img``.

        Returns:
            dict: The resized results.
        """
        results = super().transform(results)
        results['letterbox_padding'] = (0, 0, 0, 0)
        return results
