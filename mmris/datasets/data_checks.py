"""Data checks that run at dataset build time (and in check_data_root.py).

* :func:`mask_problem`: is a ground-truth annotation empty or outside its
  image, without rasterising it (polygon area by the shoelace formula, RLE
  area from pycocotools).
* :func:`polygon_mask_problems`: the same for many masks at once, polygons
  vectorised with numpy (dataset build time at RefCOCO's size).
* :func:`report_mask_problems`: count those samples and warn once per
  dataset, so an evaluation never scores empty targets unnoticed;
  :func:`report_shared_mask_problems` does it for samples that share masks
  (RefCOCO's sentences of one ref).
* :func:`check_image_file`: a file's header (missing, zero-byte, not an
  image, size different from the annotation) and, with ``decode=True``, its
  full decode (truncated files).
* :func:`check_image_headers`: every distinct image of a data list, in a few
  seconds for 20k images; raises with the list of bad files, so a bad file
  fails before any compute (dataset option ``check_images=True``).
"""
import itertools
import logging
import os
import os.path as osp
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.logging import print_log

__all__ = [
    'mask_problem', 'polygon_mask_problems', 'report_mask_problems',
    'report_shared_mask_problems', 'check_image_file', 'check_image_headers'
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
    parts: List[list] = []  # the polygon parts, an even number of values
    part_sizes: List[int] = []  # points per polygon part
    parts_per_mask: List[int] = []
    checked: List[int] = []  # indices of masks with polygon parts
    heights: List[float] = []  # of the checked masks
    widths: List[float] = []
    for k, ref_mask in enumerate(masks):
        if not isinstance(ref_mask, dict) or 'segmentation' not in ref_mask \
                or isinstance(ref_mask['segmentation'], dict):
            problems[k] = mask_problem(ref_mask)  # RLE, png, ...
            continue
        polygons = list(ref_mask['segmentation'])
        if polygons and not isinstance(polygons[0], (list, tuple)):
            polygons = [polygons]
        num_parts = 0
        for polygon in polygons:
            length = len(polygon)
            if length < 6:  # fewer than 3 points
                continue
            if length % 2:
                length -= 1
                polygon = polygon[:length]
            parts.append(polygon)
            part_sizes.append(length // 2)
            num_parts += 1
        if not num_parts:
            problems[k] = 'empty'
            continue
        checked.append(k)
        parts_per_mask.append(num_parts)
        heights.append(float(ref_mask['height']))
        widths.append(float(ref_mask['width']))
    if not checked:
        return problems
    sizes = np.asarray(part_sizes)
    points = np.fromiter(
        itertools.chain.from_iterable(parts),
        dtype=np.float64,
        count=2 * int(sizes.sum())).reshape(-1, 2)
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
    height = np.asarray(heights)
    width = np.asarray(widths)
    outside = (max_x <= 0) | (max_y <= 0) | (min_x >= width) | \
        (min_y >= height)
    empty = area < 0.5
    for j in np.flatnonzero(outside | empty):
        problems[checked[j]] = 'outside the image' if outside[j] \
            else 'empty'
    return problems


def report_mask_problems(data_list: List[dict], name: str) -> Dict[str, int]:
    """Warn (once) about samples whose ground-truth mask is empty.

    Samples with the same ``(ann_id, img_path, ref_id)`` are checked once
    (see :func:`report_shared_mask_problems`).

    Args:
        data_list (list[dict]): Data infos with ``ref_mask`` and optionally
            ``ann_id`` / ``img_path`` / ``ref_id``.
        name (str): Dataset name for the message.

    Returns:
        dict: problem -> number of samples.
    """
    index: Dict[Tuple, int] = {}
    masks: List[dict] = []
    num_samples: List[int] = []
    idents: List[str] = []
    for info in data_list:
        key = (info.get('ann_id'), info.get('img_path'), info.get('ref_id'))
        k = index.get(key)
        if k is None:
            index[key] = len(masks)
            masks.append(info.get('ref_mask'))
            num_samples.append(1)
            idents.append(f'ref_id={info.get("ref_id")} '
                          f'ann_id={info.get("ann_id")}')
        else:
            num_samples[k] += 1
    return report_shared_mask_problems(masks, num_samples, idents, name)


def report_shared_mask_problems(masks: Sequence[Optional[dict]],
                                num_samples: Sequence[int],
                                idents: Sequence[str],
                                name: str) -> Dict[str, int]:
    """Warn (once per problem) about samples whose ground-truth mask is
    empty or outside its image, for samples that share masks.

    The warning counts samples and names up to 5 distinct ``idents`` of
    problem masks, in order.

    Args:
        masks (Sequence[dict | None]): The distinct ``ref_mask`` dicts
            (see :func:`mask_problem`).
        num_samples (Sequence[int]): Samples that use each mask.
        idents (Sequence[str]): How the warning names each mask, e.g.
            ``'ref_id=3 ann_id=7'``.
        name (str): Dataset name for the message.

    Returns:
        dict: problem -> number of samples.
    """
    counts: Dict[str, int] = {}
    examples: Dict[str, List[str]] = {}
    found = polygon_mask_problems(list(masks))
    for problem, count, ident in zip(found, num_samples, idents):
        if problem is None:
            continue
        counts[problem] = counts.get(problem, 0) + count
        shown = examples.setdefault(problem, [])
        if len(shown) < 5 and ident not in shown:
            shown.append(ident)
    total = sum(num_samples)
    for problem, count in counts.items():
        print_log(
            f'{name}: {count} of {total} samples have a ground-truth '
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
