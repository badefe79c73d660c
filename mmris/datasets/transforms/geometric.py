"""Random affine augmentation that keeps the referred object in view."""
import math
from typing import Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mmris.registry import TRANSFORMS
from .utils import as_border_value, has_foreground, seg_map_keys

__all__ = ['RandomAffine']


@TRANSFORMS.register_module()
class RandomAffine(BaseTransform):
    """Random rotation, scaling, shear and translation of image and masks.

    The augmentation of the ASDA code (YOLO style, no perspective term).
    A matrix ``M = T @ Sh @ RS @ C`` is drawn, where ``C`` moves the image
    centre to the origin, ``RS`` rotates by ``U(-max_rotate_degree,
    max_rotate_degree)`` degrees and scales by ``U(*scaling_ratio_range)``,
    ``Sh`` shears by ``U(-max_shear_degree, max_shear_degree)`` degrees in x
    and in y, and ``T`` moves the centre back, translated by
    ``U(-max_translate_ratio, max_translate_ratio)`` of the width / height.
    The image is warped with bilinear interpolation and filled with
    ``border_val``; segmentation maps (``seg_fields`` and ``gt_seg_map``)
    with nearest interpolation and ``seg_border_val``. The output size equals
    the input size.

    Empty-mask rule: if ``gt_seg_map`` has object pixels before the warp and
    none after it, the draw is rejected and a new one is made, at most
    ``max_retries`` more times; if every draw empties the mask, the sample
    is left unchanged (no augmentation). A mask that is already empty in the
    annotation is warped without this check and stays empty.

    Required Keys:

    - img
    - gt_seg_map (optional)
    - seg_fields (optional)

    Modified Keys:

    - img
    - gt_seg_map (and every other key of seg_fields)

    Added Keys:

    - affine_matrix (np.ndarray): the applied (3, 3) float32 matrix, the
      identity when the augmentation was skipped.

    Args:
        max_rotate_degree (float): Maximum absolute rotation in degrees.
            Defaults to 5.
        max_translate_ratio (float): Maximum absolute translation as a
            fraction of the width / height. Defaults to 0.1.
        scaling_ratio_range (tuple[float, float]): Range of the isotropic
            scale. Defaults to (0.9, 1.1).
        max_shear_degree (float): Maximum absolute shear in degrees.
            Defaults to 2.
        border_val (float | Sequence[float]): Image fill value, a scalar or
            one value per channel (image channel order). Defaults to
            (0, 0, 0).
        seg_border_val (int): Fill value of the segmentation maps.
            Defaults to 0 (background).
        prob (float): Probability of applying the augmentation.
            Defaults to 1.0.
        max_retries (int): Extra draws allowed when a draw empties the object
            mask. Defaults to 10.
    """

    def __init__(self,
                 max_rotate_degree: float = 5.0,
                 max_translate_ratio: float = 0.1,
                 scaling_ratio_range: Tuple[float, float] = (0.9, 1.1),
                 max_shear_degree: float = 2.0,
                 border_val: Union[float, Sequence[float]] = (0, 0, 0),
                 seg_border_val: int = 0,
                 prob: float = 1.0,
                 max_retries: int = 10) -> None:
        name = self.__class__.__name__
        if not 0.0 <= max_translate_ratio <= 1.0:
            raise ValueError(f'{name}: max_translate_ratio must be in [0, 1], '
                             f'got {max_translate_ratio}')
        if not (len(scaling_ratio_range) == 2
                and 0 < scaling_ratio_range[0] <= scaling_ratio_range[1]):
            raise ValueError(f'{name}: scaling_ratio_range must be (low, high)'
                             f' with 0 < low <= high, got '
                             f'{scaling_ratio_range}')
        if max_rotate_degree < 0 or max_shear_degree < 0:
            raise ValueError(f'{name}: max_rotate_degree and max_shear_degree'
                             ' must be >= 0')
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'{name}: prob must be in [0, 1], got {prob}')
        if max_retries < 0:
            raise ValueError(f'{name}: max_retries must be >= 0, got '
                             f'{max_retries}')
        self.max_rotate_degree = max_rotate_degree
        self.max_translate_ratio = max_translate_ratio
        self.scaling_ratio_range = tuple(scaling_ratio_range)
        self.max_shear_degree = max_shear_degree
        self.border_val = border_val
        self.seg_border_val = seg_border_val
        self.prob = prob
        self.max_retries = max_retries

    def _random_matrix(self, height: int, width: int) -> np.ndarray:
        """Draw one (3, 3) affine matrix for an image of the given size."""
        centre = np.eye(3, dtype=np.float64)
        centre[0, 2] = -width / 2
        centre[1, 2] = -height / 2

        angle = np.random.uniform(-self.max_rotate_degree,
                                  self.max_rotate_degree)
        scale = np.random.uniform(*self.scaling_ratio_range)
        rot_scale = np.eye(3, dtype=np.float64)
        rot_scale[:2] = cv2.getRotationMatrix2D((0, 0), angle, scale)

        shear = np.eye(3, dtype=np.float64)
        shear[0, 1] = math.tan(
            math.radians(
                np.random.uniform(-self.max_shear_degree,
                                  self.max_shear_degree)))
        shear[1, 0] = math.tan(
            math.radians(
                np.random.uniform(-self.max_shear_degree,
                                  self.max_shear_degree)))

        translate = np.eye(3, dtype=np.float64)
        translate[0, 2] = width * (0.5 + np.random.uniform(
            -self.max_translate_ratio, self.max_translate_ratio))
        translate[1, 2] = height * (0.5 + np.random.uniform(
            -self.max_translate_ratio, self.max_translate_ratio))
        return translate @ shear @ rot_scale @ centre

    def _warp_seg(self, seg: np.ndarray, matrix: np.ndarray) -> np.ndarray:
        height, width = seg.shape[:2]
        return cv2.warpAffine(
            seg,
            matrix[:2],
            dsize=(width, height),
            flags=cv2.INTER_NEAREST,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=self.seg_border_val)

    def _draw(
            self, results: dict
    ) -> Tuple[Optional[np.ndarray], Optional[np.ndarray]]:
        """Draw a matrix that keeps the object in view.

        Returns:
            tuple: ``(matrix, warped_gt)``; ``matrix`` is None when every
            draw emptied the object, ``warped_gt`` is the checked
            ``gt_seg_map`` (None when there was nothing to check).
        """
        height, width = results['img'].shape[:2]
        obj = results.get('gt_seg_map')
        if obj is None or not has_foreground(obj):
            return self._random_matrix(height, width), None
        for _ in range(self.max_retries + 1):
            matrix = self._random_matrix(height, width)
            warped = self._warp_seg(obj, matrix)
            if has_foreground(warped):
                return matrix, warped
        return None, None

    def transform(self, results: dict) -> dict:
        """Warp the image and its segmentation maps.

        Args:
            results (dict): Results dict with ``img``.

        Returns:
            dict: The augmented results (unchanged if skipped).
        """
        matrix, warped_gt = None, None
        if np.random.rand() < self.prob:
            matrix, warped_gt = self._draw(results)
        if matrix is None:
            results['affine_matrix'] = np.eye(3, dtype=np.float32)
            return results

        img = results['img']
        height, width = img.shape[:2]
        channels = 1 if img.ndim == 2 else img.shape[2]
        results['img'] = cv2.warpAffine(
            img,
            matrix[:2],
            dsize=(width, height),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=as_border_value(self.border_val, channels))
        for key in seg_map_keys(results):
            if key == 'gt_seg_map' and warped_gt is not None:
                results[key] = warped_gt
            else:
                results[key] = self._warp_seg(results[key], matrix)
        results['affine_matrix'] = matrix.astype(np.float32)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}('
                f'max_rotate_degree={self.max_rotate_degree}, '
                f'max_translate_ratio={self.max_translate_ratio}, '
                f'scaling_ratio_range={self.scaling_ratio_range}, '
                f'max_shear_degree={self.max_shear_degree}, '
                f'border_val={self.border_val}, '
                f'seg_border_val={self.seg_border_val}, prob={self.prob}, '
                f'max_retries={self.max_retries})')
