"""Flip, letterbox and random affine fused into one warp (one resampling).

The ASDA training augmentation (flip that swaps "left"/"right", HSV jitter,
letterbox, random affine; see configs/asda/README.md) as the separate
transforms :class:`RandomFlipText`, :class:`RandomHSV`,
:class:`LetterboxResize` and :class:`RandomAffine` resamples the image twice
and jitters the colours of the full-size image. All three geometric steps
are affine maps of pixel coordinates, so their product is one affine map:

    M = A @ L @ F

with ``F`` the horizontal flip of the input (``x -> w - 1 - x``), ``L`` the
letterbox (scale ``s = new_w / w`` about pixel centres, as ``cv2.resize``
samples: ``x -> s (x + 0.5) - 0.5 + left``) and ``A`` the random affine of
:class:`RandomAffine` in output pixels. One ``cv2.warpAffine`` of the image
(bilinear) and one per mask (nearest) give the output directly; the HSV
jitter (optional, :meth:`RandomHSV.jitter`, uint8 look-up tables) runs on the
output, which has fewer pixels than a 640x480 input, and the border keeps
the exact padding colour. Issue 12 of the project: "the ASDA training
pipeline within 1.5x of decode + resize".
"""
from typing import Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mmris.registry import TRANSFORMS
from .flip import swap_text_left_right
from .geometric import RandomAffine
from .photometric import RandomHSV
from .resize import letterbox_geometry, output_hw
from .utils import as_border_value, has_foreground, seg_map_keys

__all__ = ['RandomAffineLetterbox', 'flip_letterbox_matrix']


def flip_letterbox_matrix(ori_hw: Tuple[int, int], new_hw: Tuple[int, int],
                          padding: Sequence[int], flip: bool) -> np.ndarray:
    """The (3, 3) map of input pixels to letterboxed output pixels.

    Pixel-centre convention of ``cv2.resize`` (bilinear): output pixel ``x``
    samples input ``(x + 0.5) / s - 0.5``.

    Args:
        ori_hw (tuple[int, int]): Input size ``(h, w)``.
        new_hw (tuple[int, int]): Resized size ``(new_h, new_w)`` (see
            :func:`letterbox_geometry`).
        padding (Sequence[int]): ``(left, right, top, bottom)``.
        flip (bool): Flip the input horizontally first.

    Returns:
        np.ndarray: (3, 3) float64 matrix ``L @ F``.
    """
    h, w = ori_hw
    new_h, new_w = new_hw
    left, _, top, _ = padding
    sx, sy = new_w / w, new_h / h
    letterbox = np.array([[sx, 0.0, 0.5 * sx - 0.5 + left],
                          [0.0, sy, 0.5 * sy - 0.5 + top], [0.0, 0.0, 1.0]])
    if not flip:
        return letterbox
    flip_m = np.array([[-1.0, 0.0, w - 1.0], [0.0, 1.0, 0.0],
                       [0.0, 0.0, 1.0]])
    return letterbox @ flip_m


@TRANSFORMS.register_module()
class RandomAffineLetterbox(BaseTransform):
    """Random flip + letterbox + random affine (+ HSV) in one warp.

    Draws, in this order: the flip (probability ``flip_prob``), the HSV
    gains (when ``hsv_gains`` is given, as :class:`RandomHSV`) and the
    affine ``A`` (probability ``affine_prob``, as :class:`RandomAffine`,
    drawn for the output size, with the same empty-mask retries: a draw
    that leaves no object pixel in ``gt_seg_map`` is redrawn up to
    ``max_retries`` times, then the affine is skipped). The image is warped
    once with ``M = A @ L @ F`` (see the module docstring), bilinear, filled
    with ``pad_val``; every segmentation map once, nearest, filled with
    ``seg_pad_val``. When flipped, "left"/"right" in ``text`` are swapped
    as :class:`RandomFlipText` does.

    Compared with ``RandomFlipText, RandomHSV, LetterboxResize,
    RandomAffine``: the same distribution of geometry and colours; with the
    affine off, the image equals the separate transforms' within the
    rounding of OpenCV's fixed-point warp and the masks within a boundary
    pixel (tests/test_transforms/test_affine_letterbox.py); the HSV jitter
    is applied to the resampled output instead of the input (pixel-wise, so
    the same up to the interpolation of jittered vs. plain colours), and
    the padding outside the warped image keeps exactly ``pad_val``.

    Required Keys:

    - img (uint8 or float, (H, W) or (H, W, C); HSV needs uint8 3-channel)
    - gt_seg_map / seg_fields (optional)
    - text (optional; str or list of str)

    Modified Keys:

    - img, img_shape, text, gt_seg_map (and every key of seg_fields)

    Added Keys:

    - pad_shape, scale_factor (``(new_w / w, new_h / h)``), keep_ratio,
      letterbox_padding ``(left, right, top, bottom)``: as
      :class:`LetterboxResize` (the letterbox before ``A``).
    - flip, flip_direction: as :class:`RandomFlipText`.
    - affine_matrix: the (3, 3) float32 ``A`` in output pixels (identity
      when skipped), as :class:`RandomAffine`.

    Args:
        scale (int | tuple[int, int]): Output size ``(h, w)``.
            Defaults to (416, 416).
        pad_val (float | Sequence[float]): Image fill value (image channel
            order). Defaults to (0, 0, 0).
        seg_pad_val (int): Segmentation fill value. Defaults to 0.
        flip_prob (float): Probability of the horizontal flip.
            Defaults to 0.5.
        affine_prob (float): Probability of the random affine.
            Defaults to 1.0.
        max_rotate_degree (float): See :class:`RandomAffine`. Defaults to 5.
        max_translate_ratio (float): See :class:`RandomAffine`.
            Defaults to 0.1.
        scaling_ratio_range (tuple[float, float]): See
            :class:`RandomAffine`. Defaults to (0.9, 1.1).
        max_shear_degree (float): See :class:`RandomAffine`. Defaults to 2.
        max_retries (int): See :class:`RandomAffine`. Defaults to 10.
        hsv_gains (tuple[float, float, float], optional): ``(hgain, sgain,
            vgain)`` of :class:`RandomHSV`; None for no colour jitter.
            Defaults to None.
        hsv_prob (float): Probability of the HSV jitter. Defaults to 1.0.
        channel_order (str): ``'bgr'`` or ``'rgb'``, for the HSV jitter.
            Defaults to ``'bgr'``.
    """

    def __init__(self,
                 scale: Union[int, Tuple[int, int]] = (416, 416),
                 pad_val: Union[float, Sequence[float]] = (0, 0, 0),
                 seg_pad_val: int = 0,
                 flip_prob: float = 0.5,
                 affine_prob: float = 1.0,
                 max_rotate_degree: float = 5.0,
                 max_translate_ratio: float = 0.1,
                 scaling_ratio_range: Tuple[float, float] = (0.9, 1.1),
                 max_shear_degree: float = 2.0,
                 max_retries: int = 10,
                 hsv_gains: Optional[Tuple[float, float, float]] = None,
                 hsv_prob: float = 1.0,
                 channel_order: str = 'bgr') -> None:
        name = self.__class__.__name__
        scale = output_hw(scale, name)
        if not 0.0 <= flip_prob <= 1.0:
            raise ValueError(
                f'{name}: flip_prob must be in [0, 1], got {flip_prob}')
        self.scale = scale
        self.pad_val = pad_val
        self.seg_pad_val = seg_pad_val
        self.flip_prob = flip_prob
        # validation and the random matrix of RandomAffine
        self.affine = RandomAffine(
            max_rotate_degree=max_rotate_degree,
            max_translate_ratio=max_translate_ratio,
            scaling_ratio_range=scaling_ratio_range,
            max_shear_degree=max_shear_degree,
            prob=affine_prob,
            max_retries=max_retries)
        self.hsv = None
        if hsv_gains is not None:
            if len(hsv_gains) != 3:
                raise ValueError(f'{name}: hsv_gains must be (hgain, sgain, '
                                 f'vgain), got {hsv_gains}')
            self.hsv = RandomHSV(*hsv_gains, prob=hsv_prob,
                                 channel_order=channel_order)
        self._fill_cache = {}

    def _warp(self, arr: np.ndarray, matrix: np.ndarray, nearest: bool,
              border) -> np.ndarray:
        out_h, out_w = self.scale
        return cv2.warpAffine(
            arr,
            matrix[:2],
            dsize=(out_w, out_h),
            flags=cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=border)

    def _draw_affine(self, base: np.ndarray, obj: Optional[np.ndarray]
                     ) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """Draw ``A``; returns ``(A, warped gt_seg_map or None)``."""
        eye = np.eye(3)
        if np.random.rand() >= self.affine.prob:
            return eye, None
        out_h, out_w = self.scale
        if obj is None or not has_foreground(obj):
            return self.affine._random_matrix(out_h, out_w), None
        for _ in range(self.affine.max_retries + 1):
            matrix = self.affine._random_matrix(out_h, out_w)
            warped = self._warp(obj, matrix @ base, True, self.seg_pad_val)
            if has_foreground(warped):
                return matrix, warped
        return eye, None

    def _fill(self, shape: Tuple[int, ...]) -> np.ndarray:
        """A cached uint8 image of ``pad_val``, for the HSV border fix."""
        key = tuple(shape)
        if key not in self._fill_cache:
            # rounded as cv2 rounds a border value (cvRound)
            value = np.rint(as_border_value(self.pad_val, shape[2]))
            fill = np.empty(shape, np.uint8)
            fill[...] = np.clip(value, 0, 255).astype(np.uint8)
            self._fill_cache[key] = fill
        return self._fill_cache[key]

    def _warp_image(self, img: np.ndarray, matrix: np.ndarray,
                    gains: Optional[np.ndarray]) -> np.ndarray:
        """Warp the image once; jitter its colours if ``gains`` is given.

        A uint8 3-channel image is warped as BGRA (OpenCV's 4-channel warp
        is faster than its 3-channel one); the alpha channel, 0 where the
        output lies wholly outside the input, keeps the padding exact
        after the HSV jitter.
        """
        channels = 1 if img.ndim == 2 else img.shape[2]
        border = as_border_value(self.pad_val, channels)
        if img.dtype != np.uint8 or channels != 3:  # no HSV (checked)
            return self._warp(img, matrix, False, border)
        bgra = self._warp(
            cv2.cvtColor(img, cv2.COLOR_BGR2BGRA), matrix, False,
            border + (0.0, ))
        if gains is None:
            return cv2.cvtColor(bgra, cv2.COLOR_BGRA2BGR)
        out = RandomHSV.jitter(bgra, gains, self.hsv.channel_order)
        outside = cv2.compare(cv2.extractChannel(bgra, 3), 0, cv2.CMP_EQ)
        cv2.copyTo(self._fill(out.shape), outside, out)
        return out

    def transform(self, results: dict) -> dict:
        """Flip, letterbox, warp (and jitter) image and masks.

        Args:
            results (dict): Results dict with ``img``.

        Returns:
            dict: The augmented results.
        """
        img = results['img']
        h, w = img.shape[:2]
        (new_h, new_w), padding = letterbox_geometry((h, w), self.scale)
        flip = bool(np.random.rand() < self.flip_prob)
        gains = None
        if self.hsv is not None:
            if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
                raise TypeError(
                    f'{self.__class__.__name__} with hsv_gains expects a '
                    f'uint8 (H, W, 3) image, got dtype {img.dtype} and '
                    f'shape {img.shape} for '
                    f'{results.get("img_path", "<unknown image>")!r}')
            apply, drawn = self.hsv._sample()
            gains = drawn if apply else None
        base = flip_letterbox_matrix((h, w), (new_h, new_w), padding, flip)
        affine, warped_gt = self._draw_affine(base,
                                              results.get('gt_seg_map'))
        matrix = affine @ base

        results['img'] = self._warp_image(img, matrix, gains)
        for key in seg_map_keys(results):
            if key == 'gt_seg_map' and warped_gt is not None:
                results[key] = warped_gt
            else:
                results[key] = self._warp(results[key], matrix, True,
                                          self.seg_pad_val)
        if flip and 'text' in results:
            results['text'] = swap_text_left_right(results['text'])
        results['img_shape'] = self.scale
        results['pad_shape'] = self.scale
        results['scale_factor'] = (new_w / w, new_h / h)
        results['keep_ratio'] = True
        results['letterbox_padding'] = padding
        results['flip'] = flip
        results['flip_direction'] = 'horizontal' if flip else None
        results['affine_matrix'] = affine.astype(np.float32)
        return results

    def __repr__(self) -> str:
        a = self.affine
        hsv = None if self.hsv is None else (self.hsv.hgain, self.hsv.sgain,
                                             self.hsv.vgain)
        return (f'{self.__class__.__name__}(scale={self.scale}, '
                f'pad_val={self.pad_val}, seg_pad_val={self.seg_pad_val}, '
                f'flip_prob={self.flip_prob}, affine_prob={a.prob}, '
                f'max_rotate_degree={a.max_rotate_degree}, '
                f'max_translate_ratio={a.max_translate_ratio}, '
                f'scaling_ratio_range={a.scaling_ratio_range}, '
                f'max_shear_degree={a.max_shear_degree}, '
                f'max_retries={a.max_retries}, hsv_gains={hsv})')
