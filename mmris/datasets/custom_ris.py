"""Users' own referring-segmentation data in a simple JSON format.

``ann_file`` is a JSON list, or JSON lines, with one record per expression::

    {"image": "images/0001.jpg",            # relative to data_prefix.img_path
     "text": "the dog on the left",
     "mask": [[x1, y1, x2, y2, ...], ...],   # polygons (one or more parts)
     "id": 7}                                # optional

``mask`` may also be a COCO RLE dict ``{"size": [h, w], "counts": [...] or
"..."}`` or the path of a mask image (``"masks/0001.png"``, relative to
``data_prefix.mask_path``; every nonzero pixel is the object). Optional
fields: ``height`` / ``width`` (otherwise read from the image header for
polygons, and from ``size`` for RLE), ``image_id`` and ``category_id``.
"""
import json
import os.path as osp
from numbers import Number
from typing import Any, Dict, List, Tuple

from mmengine.dataset import BaseDataset
from PIL import Image

from mmris.registry import DATASETS
from .data_checks import check_image_headers, report_mask_problems
from .refer_loader import check_file_exists

__all__ = ['RISCustomDataset']


@DATASETS.register_module()
class RISCustomDataset(BaseDataset):
    """Referring segmentation data from a JSON / JSON-lines record file.

    Produces the same data infos as :class:`RefCOCODataset`: ``img_path``,
    ``img_id``, ``ann_id``, ``ref_id``, ``sent_id``, ``text``, ``split``,
    ``ref_mask``, ``category_id``, ``seg_fields``, ``reduce_zero_label``.
    ``ref_mask`` is ``dict(segmentation, height, width)`` for polygon and RLE
    masks and ``dict(png=path)`` for mask images. ``ref_id``, ``sent_id``
    and ``ann_id`` are the record's ``id`` (its index when absent),
    ``img_id`` its ``image_id`` (the image path when absent) and
    ``category_id`` its ``category_id`` (-1 when absent).

    Args:
        ann_file (str): The record file (``.json`` list or JSON lines),
            relative to ``data_root`` unless absolute.
        data_root (str): Root folder. Defaults to ``''``.
        data_prefix (dict): ``img_path`` and ``mask_path``: folders that
            relative image and mask-image paths are joined with (themselves
            relative to ``data_root``). Defaults to both ``''``.
        split_name (str): Name reported in ``split``. Defaults to
            ``'custom'``.
        check_images (bool): Read every image header at build time and
            raise with the list of bad files (missing, zero-byte,
            unreadable, size different from an RLE mask's). Defaults to
            False.
        **kwargs: Passed to :class:`mmengine.dataset.BaseDataset`.
    """

    METAINFO = dict(
        classes=('background', 'object'), palette=[[0, 0, 0], [255, 255,
                                                               255]])

    def __init__(self,
                 ann_file: str,
                 data_root: str = '',
                 data_prefix: dict = dict(img_path='', mask_path=''),
                 split_name: str = 'custom',
                 check_images: bool = False,
                 **kwargs) -> None:
        self.check_images = check_images
        if not ann_file:
            raise ValueError('RISCustomDataset needs `ann_file`, the JSON or '
                             'JSON-lines record file')
        self.split_name = split_name
        data_prefix = dict(dict(img_path='', mask_path=''), **data_prefix)
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            **kwargs)

    def _read_records(self) -> List[Dict[str, Any]]:
        check_file_exists(self.ann_file, 'ann_file', 'record file')
        with open(self.ann_file, encoding='utf-8') as f:
            content = f.read()
        try:
            records = json.loads(content)
        except json.JSONDecodeError:
            records = []
            for lineno, line in enumerate(content.splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise ValueError(
                        f'{self.ann_file!r} line {lineno} is neither part of '
                        f'a JSON list nor a JSON-lines record: {e}') from e
        if isinstance(records, dict):
            records = [records]
        if not isinstance(records, list):
            raise TypeError(f'{self.ann_file!r} must hold a list of records, '
                            f'got {type(records).__name__}')
        return records

    @staticmethod
    def _join(prefix: str, path: str) -> str:
        return path if osp.isabs(path) or not prefix else osp.join(
            prefix, path)

    def _error(self, index: int, message: str) -> ValueError:
        return ValueError(f'{self.ann_file!r} record {index}: {message}')

    def _image_size(self, img_path: str, index: int,
                    cache: Dict[str, Tuple[int, int]]) -> Tuple[int, int]:
        """``(height, width)`` from the image header (cached per path)."""
        if img_path not in cache:
            if not osp.isfile(img_path):
                raise FileNotFoundError(
                    f'{self.ann_file!r} record {index}: image {img_path!r} '
                    'not found (needed for the polygon mask size; give '
                    '"height" and "width" in the record or fix '
                    '`data_prefix.img_path` / `data_root`)')
            with Image.open(img_path) as img:
                width, height = img.size
            cache[img_path] = (height, width)
        return cache[img_path]

    def _ref_mask(self, record: Dict[str, Any], index: int, img_path: str,
                  cache: Dict[str, Tuple[int, int]]) -> Dict[str, Any]:
        mask = record['mask']
        if isinstance(mask, str):
            return dict(png=self._join(self.data_prefix['mask_path'], mask))
        if isinstance(mask, dict):
            if 'size' not in mask or 'counts' not in mask:
                raise self._error(
                    index, 'an RLE "mask" needs "size" and "counts", got '
                    f'keys {sorted(mask)}')
            height, width = (int(s) for s in mask['size'])
            return dict(segmentation=mask, height=height, width=width)
        if isinstance(mask, list) and mask:
            polygons = mask
            if all(isinstance(v, Number) for v in polygons):
                polygons = [polygons]
            for part in polygons:
                if not isinstance(part, list) or len(part) < 6 or \
                        len(part) % 2 or \
                        not all(isinstance(v, Number) for v in part):
                    raise self._error(
                        index, 'a polygon "mask" must be a list of '
                        '[x1, y1, x2, y2, x3, y3, ...] lists (>= 3 points), '
                        f'got the part {str(part)[:80]}')
            if 'height' in record and 'width' in record:
                height, width = int(record['height']), int(record['width'])
            else:
                height, width = self._image_size(img_path, index, cache)
            return dict(segmentation=polygons, height=height, width=width)
        raise self._error(
            index, '"mask" must be a polygon list, an RLE dict or a mask '
            f'image path, got {str(mask)[:80]}')

    def load_data_list(self) -> List[dict]:
        """Parse every record into a data info.

        Returns:
            list[dict]: One data info per record.
        """
        size_cache: Dict[str, Tuple[int, int]] = {}
        data_list = []
        for index, record in enumerate(self._read_records()):
            if not isinstance(record, dict):
                raise self._error(index, f'expected an object, got {record!r}')
            missing = [k for k in ('image', 'text', 'mask') if k not in record]
            if missing:
                raise self._error(
                    index, f'missing field(s) {missing}; a record needs '
                    '"image", "text" and "mask"')
            text = record['text']
            if not isinstance(text, str) or not text.strip():
                raise self._error(
                    index, f'"text" must be a non-empty string, got {text!r}')
            img_path = self._join(self.data_prefix['img_path'],
                                  record['image'])
            record_id = record.get('id', index)
            data_list.append(
                dict(
                    img_path=img_path,
                    img_id=record.get('image_id', record['image']),
                    ann_id=record_id,
                    ref_id=record_id,
                    sent_id=record_id,
                    text=text.strip(),
                    split=self.split_name,
                    ref_mask=self._ref_mask(record, index, img_path,
                                            size_cache),
                    category_id=record.get('category_id', -1),
                    seg_fields=[],
                    reduce_zero_label=False))
        report_mask_problems(data_list, self.split_name)
        if self.check_images:
            check_image_headers(data_list, self.split_name)
        return data_list
