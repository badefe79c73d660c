"""Packing of referring-segmentation samples into model inputs."""
from typing import Sequence

import cv2
import numpy as np
import torch
from mmengine.structures import PixelData
from mmseg.datasets.transforms import PackSegInputs

from mmris.registry import TRANSFORMS

__all__ = ['PackRefSegInputs', 'REF_META_KEYS']

#: mmseg's default meta keys followed by the referring-segmentation ones.
REF_META_KEYS = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
                 'pad_shape', 'scale_factor', 'flip', 'flip_direction',
                 'reduce_zero_label', 'text', 'ref_id', 'sent_id', 'ann_id',
                 'img_id', 'split', 'letterbox_padding')


@TRANSFORMS.register_module()
class PackRefSegInputs(PackSegInputs):
    """Pack an image, its expression and its mask for a referring segmentor.

    Same as mmseg's :class:`~mmseg.datasets.transforms.PackSegInputs`
    (``inputs`` is the (C, H, W) image tensor, ``data_samples`` a
    :class:`~mmseg.structures.SegDataSample` whose ``gt_sem_seg`` holds the
    (1, H, W) mask when ``gt_seg_map`` is present), with the
    expression and its ids in the metainfo: the segmentor reads
    ``data_sample.text`` (``PixelData`` cannot hold text). Meta keys missing
    from the results are skipped, as in mmseg, except ``text``, which is
    required.

    A uint8 or bool (H, W) ``gt_seg_map`` (what :class:`LoadRefMask`
    makes) keeps its dtype in ``gt_sem_seg``: 1 byte a pixel instead of
    mmseg's int64 (8), for the loader's shared memory, the host-to-device
    copy and the metric's counting (issue 12). The heads read it as long
    (:func:`~mmris.models.heads.base_ris_head.stack_gt_masks`) and the
    preprocessor's padding value 255 fits. Other maps are packed as mmseg
    packs them (int64).

    Required Keys:

    - img
    - text (str)
    - gt_seg_map (optional)
    - the meta keys (optional)

    Added Keys:

    - inputs (torch.Tensor)
    - data_samples (SegDataSample)

    Args:
        meta_keys (Sequence[str]): Keys copied into the metainfo. Defaults to
            :data:`REF_META_KEYS`: mmseg's defaults (``img_path``,
            ``seg_map_path``, ``ori_shape``, ``img_shape``, ``pad_shape``,
            ``scale_factor``, ``flip``, ``flip_direction``,
            ``reduce_zero_label``) + ``text``, ``ref_id``, ``sent_id``,
            ``ann_id``, ``img_id``, ``split``, ``letterbox_padding``.
            ``'text'`` is added if missing.
    """

    def __init__(self, meta_keys: Sequence[str] = REF_META_KEYS) -> None:
        meta_keys = tuple(meta_keys)
        if 'text' not in meta_keys:
            meta_keys = meta_keys + ('text', )
        super().__init__(meta_keys=meta_keys)

    def transform(self, results: dict) -> dict:
        """Pack the results.

        Args:
            results (dict): Results of the pipeline, with ``img`` and
                ``text``.

        Returns:
            dict: ``inputs`` and ``data_samples``.
        """
        if 'text' not in results:
            raise KeyError(
                f'{self.__class__.__name__}: results has no "text" key (the '
                'referring expression) for image '
                f'{results.get("img_path", "<unknown image>")!r}')
        if not isinstance(results['text'], str):
            raise TypeError(
                f'{self.__class__.__name__}: results["text"] must be a str, '
                f'got {type(results["text"]).__name__} for image '
                f'{results.get("img_path", "<unknown image>")!r}')
        img = results.get('img')
        if not (isinstance(img, np.ndarray) and img.ndim == 3
                and img.dtype in (np.uint8, np.float32)
                and 1 <= img.shape[2] <= 4):
            return super().transform(results)
        # (H, W, C) -> (C, H, W) by cv2.split: the same tensor as mmseg's
        # transpose + torch copy, in a third of the time (issue 12)
        chw = np.stack(cv2.split(img))
        gt = results.get('gt_seg_map')
        compact_gt = (isinstance(gt, np.ndarray) and gt.ndim == 2
                      and gt.dtype in (np.uint8, np.bool_))
        skip = ('img', 'gt_seg_map') if compact_gt else ('img', )
        packed = super().transform(
            {k: v for k, v in results.items() if k not in skip})
        packed['inputs'] = torch.from_numpy(chw)
        if compact_gt:
            packed['data_samples'].gt_sem_seg = PixelData(
                data=torch.from_numpy(np.ascontiguousarray(gt[None])))
        return packed
