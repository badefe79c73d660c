"""Photometric augmentation: random HSV jitter (YOLO style, as used by ASDA).

MMSeg's :class:`~mmseg.datasets.transforms.PhotoMetricDistortion` is reused
unchanged for the brightness / contrast / saturation / hue recipe.
"""
from typing import Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmris.registry import TRANSFORMS

__all__ = ['RandomHSV']


def _gain_table(gain: float) -> np.ndarray:
    """``clip(level * gain, 0, 255)`` truncated, for the 256 uint8 levels."""
    return np.clip(np.arange(256) * gain, 0, 255).astype(np.uint8)


def _ratio_table(gain: float) -> np.ndarray:
    """``_gain_table(gain)[level] / level`` as float32 (level 0: 0), for a
    per-pixel factor through ``cv2.LUT``."""
    return (_gain_table(gain) / np.maximum(np.arange(256), 1)).astype(
        np.float32)


def _channels_and_value(img: np.ndarray) -> Tuple[list, np.ndarray]:
    """The first three channels of ``img`` and their per-pixel maximum
    (HSV's V), each (H, W) uint8."""
    channels = cv2.split(img)[:3]
    return channels, cv2.max(cv2.max(channels[0], channels[1]), channels[2])


@TRANSFORMS.register_module()
class RandomHSV(BaseTransform):
    """Random multiplicative jitter of hue, saturation and value.

    With probability ``prob`` one gain per channel is drawn,
    ``g_c = 1 + U(-1, 1) * gain_c``, and applied in HSV space through
    look-up tables: ``H' = (H * g_h) mod 180`` (OpenCV's 8-bit hue range),
    ``S' = clip(S * g_s, 0, 255)``, ``V' = clip(V * g_v, 0, 255)``. This is
    the HSV augmentation of the YOLO family. With ``hgain = 0`` the hue is
    kept exactly and saturation and value change in BGR
    (:meth:`scale_saturation`, :meth:`scale_value`) instead of through the
    8-bit HSV round trip, whose hue has 180 levels (faster, and within a
    few levels of it): ``sgain = 0`` is the jitter of the ASDA public code,
    which draws a saturation gain but never applies it
    (``dataset/data_loader.py``, ``augment_hsv``); ``vgain = 0`` the
    saturation jitter of RISCLIP (App. A.1). Only the image changes; masks
    and geometry are untouched.

    Required Keys:

    - img (uint8, 3 channels, channel order given by ``channel_order``)

    Modified Keys:

    - img

    Args:
        hgain (float): Maximum relative hue change. Defaults to 0.5.
        sgain (float): Maximum relative saturation change. Defaults to 0.5.
        vgain (float): Maximum relative value (brightness) change.
            Defaults to 0.5.
        prob (float): Probability of applying the jitter. Defaults to 1.0.
        channel_order (str): ``'bgr'`` (after mmcv loading) or ``'rgb'``.
            Defaults to ``'bgr'``.
    """

    def __init__(self,
                 hgain: float = 0.5,
                 sgain: float = 0.5,
                 vgain: float = 0.5,
                 prob: float = 1.0,
                 channel_order: str = 'bgr') -> None:
        for name, value in (('hgain', hgain), ('sgain', sgain), ('vgain',
                                                                 vgain)):
            if value < 0:
                raise ValueError(f'RandomHSV: {name} must be >= 0, got '
                                 f'{value}')
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'RandomHSV: prob must be in [0, 1], got {prob}')
        if channel_order not in ('bgr', 'rgb'):
            raise ValueError('RandomHSV: channel_order must be "bgr" or '
                             f'"rgb", got {channel_order!r}')
        self.hgain = hgain
        self.sgain = sgain
        self.vgain = vgain
        self.prob = prob
        self.channel_order = channel_order

    @cache_randomness
    def _sample(self) -> Tuple[bool, np.ndarray]:
        """Draw whether to apply and the three gains."""
        apply = np.random.rand() < self.prob
        gains = 1.0 + np.random.uniform(-1, 1, 3) * np.array(
            [self.hgain, self.sgain, self.vgain])
        return apply, gains

    @staticmethod
    def jitter(img: np.ndarray,
               gains: np.ndarray,
               channel_order: str = 'bgr') -> np.ndarray:
        """Apply given HSV gains to a uint8 3-channel image.

        A hue gain of exactly 1 takes the BGR path
        (:meth:`scale_saturation`, then :meth:`scale_value`); any other
        converts to 8-bit HSV, applies the three tables and converts back.

        Args:
            img (np.ndarray): (H, W, 3) uint8 image; a (H, W, 4) image is
                accepted too (the fourth channel is ignored).
            gains (np.ndarray): Multiplicative gains ``(g_h, g_s, g_v)``.
            channel_order (str): ``'bgr'`` or ``'rgb'``.

        Returns:
            np.ndarray: The jittered (H, W, 3) uint8 image.
        """
        if gains[0] == 1.0:
            # hue kept: saturation and value in BGR, no 8-bit HSV round trip
            out = img
            if gains[1] != 1.0:
                out = RandomHSV.scale_saturation(out, gains[1])
            if gains[2] != 1.0 or out is img:
                out = RandomHSV.scale_value(out, gains[2])
            return out
        to_hsv, from_hsv = ((cv2.COLOR_BGR2HSV,
                             cv2.COLOR_HSV2BGR) if channel_order == 'bgr' else
                            (cv2.COLOR_RGB2HSV, cv2.COLOR_HSV2RGB))
        hue, sat, val = cv2.split(cv2.cvtColor(img, to_hsv))
        lut_h = np.mod(np.arange(256) * gains[0], 180).astype(np.uint8)
        lut_s, lut_v = _gain_table(gains[1]), _gain_table(gains[2])
        hsv = cv2.merge(
            (cv2.LUT(hue, lut_h), cv2.LUT(sat, lut_s), cv2.LUT(val, lut_v)))
        return cv2.cvtColor(hsv, from_hsv)

    @staticmethod
    def scale_value(img: np.ndarray, gain: float) -> np.ndarray:
        """Change only the value ``V = max(B, G, R)`` of a uint8 image.

        ``V' = clip(V * gain, 0, 255)`` truncated to uint8, the look-up
        table of :meth:`jitter`; hue and saturation are kept by scaling the
        three channels of each pixel by ``V' / V``, rounded. This is the
        jitter with hue and saturation gains of 1 (the ASDA public code's,
        which scales V only) without the 8-bit HSV round trip: hue and
        saturation stay exact instead of quantised (OpenCV's 8-bit hue has
        180 levels), and it costs about half as much.

        Args:
            img (np.ndarray): (H, W, 3) uint8 image; a (H, W, 4) image is
                accepted too (the fourth channel is ignored). Channel
                order does not matter.
            gain (float): Multiplicative gain of V.

        Returns:
            np.ndarray: The (H, W, 3) uint8 image; the largest channel of
            each pixel is exactly the table's ``V'``.
        """
        channels, value = _channels_and_value(img)
        # V' / V per pixel (V = 0: every channel is 0, any factor works)
        per_pixel = cv2.LUT(value, _ratio_table(gain))
        return cv2.merge([
            cv2.multiply(c, per_pixel, dtype=cv2.CV_8U) for c in channels
        ])

    @staticmethod
    def scale_saturation(img: np.ndarray, gain: float) -> np.ndarray:
        """Change only the saturation ``S = 255 (V - min) / V`` of an image.

        ``S`` is rounded to 8 bits as OpenCV's HSV conversion does and
        mapped through the truncating table of :meth:`jitter`,
        ``S' = clip(S * gain, 0, 255)``; hue and value are kept by moving
        every channel towards or away from ``V``:
        ``c' = V - (V - c) * S' / S``, rounded (the largest channel stays
        ``V``, the channels' differences keep their ratios).

        Args:
            img (np.ndarray): (H, W, 3) uint8 image; a (H, W, 4) image is
                accepted too (the fourth channel is ignored). Channel
                order does not matter.
            gain (float): Multiplicative gain of S.

        Returns:
            np.ndarray: The (H, W, 3) uint8 image.
        """
        channels, value = _channels_and_value(img)
        low = cv2.min(cv2.min(channels[0], channels[1]), channels[2])
        # OpenCV divides by 0 as 0: a black pixel has S = 0
        sat = cv2.divide(cv2.subtract(value, low), value, scale=255)
        # S' / S per pixel (S = 0: all channels equal V, any factor works)
        per_pixel = cv2.LUT(sat, _ratio_table(gain))
        return cv2.merge([
            cv2.subtract(
                value,
                cv2.multiply(
                    cv2.subtract(value, c), per_pixel, dtype=cv2.CV_8U))
            for c in channels
        ])

    def transform(self, results: dict) -> dict:
        """Jitter ``results['img']`` in HSV space.

        Args:
            results (dict): Results dict with ``img``.

        Returns:
            dict: The results with the jittered image.
        """
        img = results['img']
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise TypeError(
                'RandomHSV expects a uint8 (H, W, 3) image, got dtype '
                f'{img.dtype} and shape {img.shape} for '
                f'{results.get("img_path", "<unknown image>")!r}; place it '
                'before any float conversion')
        apply, gains = self._sample()
        if apply:
            results['img'] = self.jitter(img, gains, self.channel_order)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(hgain={self.hgain}, '
                f'sgain={self.sgain}, vgain={self.vgain}, prob={self.prob}, '
                f"channel_order='{self.channel_order}')")
