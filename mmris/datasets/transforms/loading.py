"""Loading transforms for referring image segmentation.

``LoadRefImageFromFile`` reads the image with clear errors and a guaranteed
3-channel layout; ``LoadRefMask`` decodes the referred object's mask from the
annotation the dataset put in ``results['ref_mask']``.
"""
from typing import Optional

import cv2
import mmcv
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform, LoadImageFromFile

from mmris.registry import TRANSFORMS

__all__ = ['LoadRefImageFromFile', 'LoadRefMask']


@TRANSFORMS.register_module()
class LoadRefImageFromFile(LoadImageFromFile):
    """Load an image from file as a 3-channel uint8 array.

    A thin layer over :class:`mmcv.transforms.LoadImageFromFile` that fixes
    two things referring segmentation relies on:

    - **Errors name the file.** A missing file raises
      :class:`FileNotFoundError` and a file that cannot be decoded (corrupt,
      empty, not an image) raises :class:`OSError`, both with the path,
      instead of a bare assertion or a crash in a later transform.
      With ``ignore_empty=True`` both cases return ``None`` instead (the
      dataset then draws another sample), as in mmcv.
    - **Always 3 channels.** Whatever the file holds, the output is
      ``(H, W, 3)`` in BGR order (the OpenCV convention mmcv uses):
      grayscale images are replicated to three channels and the alpha
      channel of RGBA / LA images is dropped (not composited), so every
      backbone sees the same layout. With ``to_float32=True`` the dtype is
      float32, otherwise uint8.

    Required Keys:

    - img_path

    Modified Keys:

    - img
    - img_shape
    - ori_shape

    Args:
        to_float32 (bool): Whether to convert the image to float32.
            Defaults to False.
        color_type (str): Flag for :func:`mmcv.imfrombytes`. Any flag is
            accepted; the result is converted to 3-channel BGR afterwards.
            Defaults to 'color'.
        imdecode_backend (str): Decoding backend of :func:`mmcv.imfrombytes`.
            Defaults to 'cv2'.
        ignore_empty (bool): Return ``None`` instead of raising when the
            file is missing or cannot be decoded. Defaults to False.
        backend_args (dict, optional): File backend arguments, see
            :func:`mmengine.fileio.get`. Defaults to None.
    """

    def __init__(self,
                 to_float32: bool = False,
                 color_type: str = 'color',
                 imdecode_backend: str = 'cv2',
                 ignore_empty: bool = False,
                 *,
                 backend_args: Optional[dict] = None) -> None:
        super().__init__(
            to_float32=to_float32,
            color_type=color_type,
            imdecode_backend=imdecode_backend,
            ignore_empty=ignore_empty,
            backend_args=backend_args)

    def _read_bytes(self, filename: str) -> bytes:
        """Read the raw bytes, raising ``FileNotFoundError`` with the path."""
        try:
            return fileio.get(filename, backend_args=self.backend_args)
        except FileNotFoundError as e:
            raise FileNotFoundError(
                f'{self.__class__.__name__}: image file not found: '
                f'{filename!r} (from results["img_path"])') from e

    def _decode(self, img_bytes: bytes, filename: str) -> np.ndarray:
        """Decode bytes to an image, raising ``OSError`` with the path."""
        error: Optional[BaseException] = None
        img = None
        try:
            if len(img_bytes) > 0:
                img = mmcv.imfrombytes(
                    img_bytes,
                    flag=self.color_type,
                    backend=self.imdecode_backend)
        except Exception as e:  # cv2.error, PIL.UnidentifiedImageError ...
            error = e
        if img is None or img.size == 0:
            reason = f': {error}' if error is not None else ''
            raise OSError(f'{self.__class__.__name__}: cannot decode image '
                          f'file {filename!r} ({len(img_bytes)} bytes); it is '
                          f'corrupt or not an image{reason}') from error
        return img

    @staticmethod
    def _to_bgr3(img: np.ndarray) -> np.ndarray:
        """Convert a gray, gray+alpha, BGR or BGRA array to 3-channel BGR."""
        if img.ndim == 3 and img.shape[2] == 1:
            img = img[..., 0]
        if img.ndim == 2:
            return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        channels = img.shape[2]
        if channels == 3:
            return img
        if channels == 2:  # gray + alpha
            return cv2.cvtColor(
                np.ascontiguousarray(img[..., 0]), cv2.COLOR_GRAY2BGR)
        if channels == 4:
            return np.ascontiguousarray(img[..., :3])
        raise ValueError(f'unsupported number of image channels: {channels}')

    def transform(self, results: dict) -> Optional[dict]:
        """Load the image of ``results['img_path']``.

        Args:
            results (dict): Results dict with ``img_path``.

        Returns:
            dict | None: The results with ``img``, ``img_shape`` and
            ``ori_shape``; ``None`` if the image cannot be loaded and
            ``ignore_empty`` is True.
        """
        if 'img_path' not in results:
            raise KeyError(f'{self.__class__.__name__}: results has no '
                           f'"img_path" key (keys: {sorted(results)})')
        filename = results['img_path']
        try:
            img = self._decode(self._read_bytes(filename), filename)
        except OSError:  # FileNotFoundError is an OSError too
            if self.ignore_empty:
                return None
            raise
        try:
            img = self._to_bgr3(img)
        except ValueError as e:
            raise OSError(f'{self.__class__.__name__}: {filename!r}: {e}')
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results


@TRANSFORMS.register_module()
class LoadRefMask(BaseTransform):
    """Decode the referred object's mask into ``gt_seg_map``.

    The annotation in ``results['ref_mask']`` is decoded with
    :func:`mmris.datasets.refer_loader.load_ref_mask`: either
    ``dict(segmentation=<COCO polygons or RLE>, height=H, width=W)`` or
    ``dict(png=<path>)`` (non-zero pixels are the object). The result is a
    uint8 map at the original image resolution with 1 for the object and 0
    elsewhere; it must have the same height and width as the loaded image.

    Required Keys:

    - ref_mask
    - img (or ori_shape), to check the mask's size

    Modified Keys:

    - seg_fields (``'gt_seg_map'`` appended once)

    Added Keys:

    - gt_seg_map (np.uint8, values in {0, 1})
    """

    def transform(self, results: dict) -> dict:
        """Decode ``results['ref_mask']``.

        Args:
            results (dict): Results dict with ``ref_mask`` and the image.

        Returns:
            dict: The results with ``gt_seg_map`` added.
        """
        # Imported lazily: the dataset module imports this package.
        from mmris.datasets.refer_loader import load_ref_mask

        name = self.__class__.__name__
        img_path = results.get('img_path', '<unknown image>')
        if 'ref_mask' not in results:
            raise KeyError(f'{name}: results has no "ref_mask" key for image '
                           f'{img_path!r} (keys: {sorted(results)})')
        try:
            mask = np.asarray(load_ref_mask(results['ref_mask']))
        except (KeyError, ValueError, TypeError, OSError) as e:
            # Same exception type, with the sample it belongs to.
            raise type(e)(f'{name}: cannot decode results["ref_mask"] of '
                          f'image {img_path!r} (ref_id='
                          f'{results.get("ref_id")}): {e}') from e
        if mask.ndim == 3 and mask.shape[2] == 1:
            mask = mask[..., 0]
        if mask.ndim != 2:
            raise ValueError(f'{name}: the mask of image {img_path!r} has '
                             f'shape {mask.shape}, expected (H, W)')
        # Masks are decoded at the original resolution; in test pipelines
        # this transform runs after resizing (evaluation at the original
        # size), so compare with ori_shape, not the current image.
        if 'ori_shape' in results:
            img_hw = tuple(results['ori_shape'][:2])
        elif results.get('img') is not None:
            img_hw = tuple(results['img'].shape[:2])
        else:
            img_hw = None
        if img_hw is not None and tuple(mask.shape) != img_hw:
            raise ValueError(
                f'{name}: mask size {tuple(mask.shape)} (h, w) does not match '
                f'image size {img_hw} for image {img_path!r}; check the '
                'annotation\'s height/width or the mask file')
        if not (mask.dtype == np.uint8 and mask.flags.c_contiguous):
            # a bool array's bytes are 0 / 1: viewed as uint8 without a copy
            mask = np.ascontiguousarray(mask != 0).view(np.uint8)
        # (a C-ordered uint8 mask from load_ref_mask is 0 / 1 already)
        results['gt_seg_map'] = mask
        seg_fields = results.setdefault('seg_fields', [])
        if 'gt_seg_map' not in seg_fields:
            seg_fields.append('gt_seg_map')
        return results
