"""Data checks that run at dataset build time (and in check_data_root.py).

* :func:`mask_problem`: is a ground-truth annotation empty or outside its
  image, without rasterising it (polygon area by the shoelace formula, RLE
  area from pycocotools).
* :func:`polygon_mask_problems`: the same for many masks at once, polygons
  vectorised with numpy (dataset build time at RefCOCO's size).
* :func:`report_mask_problems`: count those samples and warn once per
  dataset, so an evaluation never scores empty targets unnoticed.
* :func:`check_image_file`: a file's header (missing, zero-byte, not an
  image, size different from the annotation) and, with ``decode=True``, its
  full decode (truncated files).
* :func:`check_image_headers`: every distinct image of a data list, in a few
  seconds for 20k images; raises with the list of bad files, so a bad file
  fails before any compute (dataset option ``check_images=True``).
"""
import logging
import os
import os.path as osp
from typing import Dict, Iterable, List, Optional, Tuple

import numpy as np
from mmengine.logging import print_log

__all__ = [
    'mask_problem', 'polygon_mask_problems', 'report_mask_problems',
    'check_image_file', 'check_image_headers'
]

_SHOWN = 20


def _polygons(segmentation) -> List[np.ndarray]:
    polygons = list(segmentation)
    if polygons and not isinstance(polygons[0], (list, tuple)):
        polygons = [polygons]
    return [
        np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in polygons
        if len(p) >= 6
    ]


def mask_problem(ref_mask: dict) -> Optional[str]:
    """``'empty'``, ``'outside the image'`` or None for a data info's mask.

    Args:
        ref_mask (dict): ``dict(segmentation, height, width)`` (polygons or
            RLE) as the datasets store it; ``dict(png=...)`` is not checked
            here (it needs decoding; ``check_data_root.py`` does it).
    """
    if not isinstance(ref_mask, dict) or 'segmentation' not in ref_mask:
        return None
    seg = ref_mask['segmentation']
    height, width = int(ref_mask['height']), int(ref_mask['width'])
    if isinstance(seg, dict):
        from pycocotools import mask as mask_utils
        rle = seg
        if isinstance(seg.get('counts'), list):
            rle = mask_utils.frPyObjects(seg, *seg['size'])
        return 'empty' if float(mask_utils.area(rle)) <= 0 else None
    polygons = _polygons(seg)
    if not polygons:
        return 'empty'
    area = sum(0.5 * abs(
        np.dot(p[:, 0], np.roll(p[:, 1], 1)) -
        np.dot(p[:, 1], np.roll(p[:, 0], 1))) for p in polygons)
    points = np.concatenate(polygons)
    if points[:, 0].max() <= 0 or points[:, 1].max() <= 0 or \
            points[:, 0].min() >= width or points[:, 1].min() >= height:
        return 'outside the image'
    if area < 0.5:
        return 'empty'
    return None


def _flat_polygons(segmentation) -> Optional[List[list]]:
    """The polygon parts (>= 3 points) of a polygon segmentation, or None
    for an RLE (dict) segmentation."""
    if isinstance(segmentation, dict):
        return None
    polygons = list(segmentation)
    if polygons and not isinstance(polygons[0], (list, tuple)):
        polygons = [polygons]
    return [p for p in polygons if len(p) >= 6]


def polygon_mask_problems(masks: List[dict]) -> List[Optional[str]]:
    """:func:`mask_problem` of many ``ref_mask`` dicts at once.

    Polygon masks are checked together with numpy (one shoelace area and
    one bounding box per mask over all points at once, which at RefCOCO's
    size is a hundred times faster than one call per mask); RLE and other
    masks go through :func:`mask_problem`.

    Args:
        masks (list[dict]): ``ref_mask`` entries of data infos.

    Returns:
        list[str | None]: The problem of every mask, in order.
    """
    problems: List[Optional[str]] = [None] * len(masks)
    coords: List[float] = []
    part_sizes: List[int] = []  # points per polygon part
    parts_per_mask: List[int] = []
    checked: List[int] = []  # indices of masks with polygon parts
    for k, ref_mask in enumerate(masks):
        polygons = _flat_polygons(ref_mask['segmentation']) \
            if isinstance(ref_mask, dict) and 'segmentation' in ref_mask \
            else None
        if polygons is None:
            problems[k] = mask_problem(ref_mask)
        elif not polygons:
            problems[k] = 'empty'
        else:
            checked.append(k)
            parts_per_mask.append(len(polygons))
            for polygon in polygons:
                usable = len(polygon) // 2 * 2
                coords.extend(polygon[:usable])
                part_sizes.append(usable // 2)
    if not checked:
        return problems
    points = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
    sizes = np.asarray(part_sizes)
    part_start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    # previous point of every point within its part (np.roll per part)
    prev = np.arange(len(points)) - 1
    prev[part_start] = part_start + sizes - 1
    x, y = points[:, 0], points[:, 1]
    cross = x * y[prev] - y * x[prev]
    part_area = 0.5 * np.abs(np.add.reduceat(cross, part_start))
    mask_part_start = np.concatenate([[0],
                                      np.cumsum(parts_per_mask)[:-1]])
    area = np.add.reduceat(part_area, mask_part_start)
    mask_point_start = part_start[mask_part_start]
    max_x = np.maximum.reduceat(x, mask_point_start)
    max_y = np.maximum.reduceat(y, mask_point_start)
    min_x = np.minimum.reduceat(x, mask_point_start)
    min_y = np.minimum.reduceat(y, mask_point_start)
    height = np.asarray([float(masks[k]['height']) for k in checked])
    width = np.asarray([float(masks[k]['width']) for k in checked])
    outside = (max_x <= 0) | (max_y <= 0) | (min_x >= width) | \
        (min_y >= height)
    empty = area < 0.5
    for j in np.flatnonzero(outside | empty):
        problems[checked[j]] = 'outside the image' if outside[j] \
            else 'empty'
    return problems


def report_mask_problems(data_list: List[dict], name: str) -> Dict[str, int]:
    """Warn (once) about samples whose ground-truth mask is empty.

    Returns:
        dict: problem -> number of samples.
    """
    counts: Dict[str, int] = {}
    examples: Dict[str, List[str]] = {}
    index: Dict[Tuple, int] = {}
    unique: List[dict] = []
    keys = []
    for info in data_list:
        key = (info.get('ann_id'), info.get('img_path'), info.get('ref_id'))
        if key not in index:
            index[key] = len(unique)
            unique.append(info.get('ref_mask'))
        keys.append(index[key])
    found = polygon_mask_problems(unique)
    for info, k in zip(data_list, keys):
        problem = found[k]
        if problem is None:
            continue
        counts[problem] = counts.get(problem, 0) + 1
        ident = f'ref_id={info.get("ref_id")} ann_id={info.get("ann_id")}'
        examples.setdefault(problem, [])
        if len(examples[problem]) < 5 and ident not in examples[problem]:
            examples[problem].append(ident)
    for problem, count in counts.items():
        print_log(
            f'{name}: {count} of {len(data_list)} samples have a ground-truth '
            f'mask that is {problem} (e.g. {", ".join(examples[problem])}); '
            'they score IoU 0 (or the metric\'s empty_iou when the '
            'prediction is empty too).',
            logger='current',
            level=logging.WARNING)
    return counts


def check_image_file(path: str,
                     expected_hw: Optional[Tuple[int, int]] = None,
                     decode: bool = False) -> Optional[str]:
    """What is wrong with an image file, or None.

    Args:
        path (str): The file.
        expected_hw (tuple, optional): (height, width) the annotation says.
        decode (bool): Decode the whole file (finds truncated files; slow)
            instead of reading the header only.
    """
    from PIL import Image
    if not osp.isfile(path):
        return 'missing'
    if os.path.getsize(path) == 0:
        return 'zero bytes'
    try:
        with Image.open(path) as img:
            width, height = img.size
            if decode:
                img.load()
    except Exception as e:  # PIL.UnidentifiedImageError, OSError ...
        return f'cannot be read ({type(e).__name__}: {e})'
    if expected_hw is not None and tuple(expected_hw) != (height, width):
        return (f'is {height}x{width} but the annotation says '
                f'{expected_hw[0]}x{expected_hw[1]}')
    return None


def check_image_headers(data_list: Iterable[dict], name: str,
                        decode: bool = False) -> int:
    """Check every distinct image of a data list; raise on bad files.

    Args:
        data_list (Iterable[dict]): Data infos with ``img_path`` and
            optionally ``ref_mask`` (height / width).
        name (str): Dataset name for the message.
        decode (bool): Fully decode each image. Defaults to False.

    Returns:
        int: The number of images checked.
    """
    seen: Dict[str, Optional[Tuple[int, int]]] = {}
    for info in data_list:
        path = info.get('img_path')
        if path is None or path in seen:
            continue
        mask = info.get('ref_mask') or {}
        seen[path] = (int(mask['height']), int(mask['width'])) \
            if 'height' in mask and 'width' in mask else None
    problems = []
    for path, hw in seen.items():
        problem = check_image_file(path, hw, decode=decode)
        if problem is not None:
            problems.append(f'{path}: {problem}')
    if problems:
        shown = '\n  '.join(problems[:_SHOWN])
        more = f'\n  ... and {len(problems) - _SHOWN} more' \
            if len(problems) > _SHOWN else ''
        raise OSError(f'{name}: {len(problems)} of {len(seen)} images are '
                      f'bad (check_images=True):\n  {shown}{more}')
    print_log(f'{name}: checked {len(seen)} image headers', logger='current')
    return len(seen)
