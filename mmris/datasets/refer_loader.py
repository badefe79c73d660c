"""Readers for the REFER toolkit's files and referring masks.

The REFER release (``refcoco``, ``refcoco+``, ``refcocog``) ships

* ``{dataset}/instances.json``: COCO-format images and annotations;
* ``{dataset}/refs({split_by}).p``: a Python-2 pickle (protocol 2) with one
  record per referred object, ``{'ref_id', 'ann_id', 'image_id', 'split',
  'sentences': [{'sent_id', 'sent', 'raw', 'tokens'}], 'sent_ids',
  'category_id', 'file_name'}``. Its strings are Python-2 byte strings, so
  a plain Python-3 ``pickle.load`` fails on non-ASCII text;
  :func:`load_refs_pickle` reads the files as distributed.

Masks are decoded with pycocotools at the original image resolution.
"""
import json
import os.path as osp
import pickle
from typing import Any, Dict, Optional, Union

import cv2
import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

try:  # about three times faster than the standard library's parser
    import orjson
except ImportError:  # pragma: no cover - orjson is an install requirement
    orjson = None

__all__ = [
    'load_refs_pickle', 'load_instances', 'decode_ref_mask', 'load_ref_mask',
    'check_file_exists'
]


def check_file_exists(path: str, field: Optional[str] = None,
                      what: str = 'file') -> None:
    """Raise a :class:`FileNotFoundError` that says which setting to fix.

    Args:
        path (str): The path that must exist.
        field (str, optional): Name of the config field the path came from,
            e.g. ``'refs_file'``. Defaults to None.
        what (str): Human-readable description of the file. Defaults to
            ``'file'``.
    """
    if osp.isfile(path):
        return
    hint = (f' Fix `{field}` (or `data_root`) in the dataset config.'
            if field else '')
    raise FileNotFoundError(f'{what} not found: {path!r}.{hint}')


def _decode_bytes(obj: Any, path: str) -> Any:
    """Recursively turn ``bytes`` (Python-2 ``str``) into UTF-8 ``str``."""
    if isinstance(obj, bytes):
        try:
            return obj.decode('utf-8')
        except UnicodeDecodeError as e:
            raise ValueError(
                f'{path!r}: string {obj[:60]!r} is not valid UTF-8 ({e}); '
                'REFER pickles store UTF-8 text.') from e
    if isinstance(obj, dict):
        return {
            _decode_bytes(k, path): _decode_bytes(v, path)
            for k, v in obj.items()
        }
    if isinstance(obj, list):
        return [_decode_bytes(v, path) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_decode_bytes(v, path) for v in obj)
    return obj


def _may_hold_bytes(raw: bytes) -> bool:
    """Whether a pickle can hold ``bytes`` objects after a UTF-8 load.

    Python 2 (the REFER release) writes protocol 0-2 and its ``str``
    becomes ``str`` with ``encoding='utf-8'``; Python 3 writes ``bytes``
    with protocol 3+ opcodes or, at protocol 0-2, as a call of
    ``_codecs.encode``. Only those pickles need the walk of
    :func:`_decode_bytes` (a false positive only costs the walk).
    """
    protocol = raw[1] if raw[:1] == b'\x80' and len(raw) > 1 else 0
    return protocol >= 3 or b'_codecs' in raw


def load_refs_pickle(path: str, field: Optional[str] = 'refs_file') -> list:
    """Load a REFER ``refs(*).p`` file as distributed.

    The pickle is loaded with ``encoding='utf-8'``, which decodes Python-2
    strings as they are read. Pickles written by Python 3 with ``bytes``
    objects, and Python-2 text that is not UTF-8 (an error naming the
    string), go through a walk that decodes every byte string, keys
    included.

    Args:
        path (str): Path of the pickle.
        field (str, optional): Config field named in the error when the
            file is missing. Defaults to ``'refs_file'``.

    Returns:
        list[dict]: The ref records, with ``str`` keys and text.
    """
    check_file_exists(path, field, 'REFER refs pickle')
    with open(path, 'rb') as f:
        raw = f.read()
    try:
        # Python-2 str objects are decoded as UTF-8 while unpickling.
        refs = pickle.loads(raw, encoding='utf-8')
    except (ValueError, pickle.UnpicklingError):
        # UnicodeDecodeError (a ValueError): not UTF-8; the walk below
        # names the offending string.
        refs = _decode_bytes(pickle.loads(raw, encoding='bytes'), path)
    else:
        if _may_hold_bytes(raw):
            # written by Python 3 with bytes objects: normalise
            refs = _decode_bytes(refs, path)
    if not isinstance(refs, list):
        raise TypeError(f'{path!r}: expected a list of ref records, got '
                        f'{type(refs).__name__}')
    return refs


#: 1 for the bytes of ASCII digits, 0 for the others (bytes.translate table)
_DIGIT_TABLE = bytes(int(0x30 <= b <= 0x39) for b in range(256))
#: 19 digits in a row: the shortest integers outside orjson's 64-bit range
_LONG_DIGIT_RUN = b'\x01' * 19
#: what can precede a number in JSON (a minus sign aside)
_BEFORE_NUMBER = frozenset(b'[,: \t\n\r')


def _may_hold_long_integers(raw: bytes) -> bool:
    """Whether JSON text may hold an integer literal of 19 or more digits.

    Such integers can be outside the 64-bit range, which orjson reads as
    floats. A run of 19 digits counts unless the byte before it (before
    its minus sign) cannot precede a JSON value, as in a file name or a
    compressed RLE string; false positives only cost speed.

    Args:
        raw (bytes): JSON text.

    Returns:
        bool: False when no integer literal has 19 digits.
    """
    digits = raw.translate(_DIGIT_TABLE)
    start = digits.find(_LONG_DIGIT_RUN)
    while start >= 0:
        before = start - 1
        if before >= 0 and raw[before] == 0x2D:  # '-'
            before -= 1
        if before < 0 or raw[before] in _BEFORE_NUMBER:
            return True
        end = digits.find(b'\x00', start)
        if end < 0:
            return False
        start = digits.find(_LONG_DIGIT_RUN, end)
    return False


def _parse_json(raw: bytes) -> Any:
    """Parse UTF-8 JSON text as ``json.load`` of the file opened with
    ``encoding='utf-8'`` does.

    :mod:`orjson` parses when it is installed (RefCOCO's 114 MB
    ``instances.json`` in about a third of the time). Whatever it rejects
    (invalid JSON or UTF-8, but also ``NaN`` / ``Infinity``, ``1e400`` and
    lone surrogates, which the standard library accepts) is parsed again by
    :mod:`json`, so the result and the error are the standard library's.
    orjson reads integers beyond 64 bits as floats without an error: text
    that may hold an integer of 19 or more digits
    (:func:`_may_hold_long_integers`, a few percent of the parse) goes to
    :mod:`json` directly.

    Args:
        raw (bytes): The file's contents.

    Returns:
        Any: The parsed document.
    """
    if orjson is not None and not _may_hold_long_integers(raw):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return json.loads(raw.decode('utf-8'))


def load_instances(path: str,
                   field: Optional[str] = 'ann_file') -> Dict[str, Any]:
    """Load a COCO-format ``instances.json`` and index it by id.

    Args:
        path (str): Path of the JSON file.
        field (str, optional): Config field named in the error when the
            file is missing. Defaults to ``'ann_file'``.

    Returns:
        dict: ``images`` (id -> image record), ``annotations`` (id ->
        annotation record) and ``categories`` (id -> category record).
    """
    check_file_exists(path, field, 'COCO instances file')
    with open(path, 'rb') as f:
        data = _parse_json(f.read())
    for key in ('images', 'annotations'):
        if key not in data:
            raise KeyError(f'{path!r} has no {key!r} list; is it a COCO '
                           'instances file?')
    return dict(
        images={img['id']: img
                for img in data['images']},
        annotations={ann['id']: ann
                     for ann in data['annotations']},
        categories={c['id']: c
                    for c in data.get('categories', [])})


def _check_size(size: Any, height: int, width: int) -> None:
    if [int(s) for s in size] != [int(height), int(width)]:
        raise ValueError(
            f'RLE size {list(size)} does not match the image size '
            f'[height, width] = [{height}, {width}]')


def decode_ref_mask(segmentation: Union[list, dict], height: int,
                    width: int) -> np.ndarray:
    """Decode a COCO segmentation into a binary mask with pycocotools.

    Args:
        segmentation (list | dict): One of

            - polygons: ``[[x1, y1, x2, y2, ...], ...]`` (several parts are
              merged; a single flat ``[x1, y1, ...]`` list is accepted;
              parts with fewer than 3 points are skipped);
            - uncompressed RLE: ``{'size': [h, w], 'counts': [int, ...]}``;
            - compressed RLE: ``{'size': [h, w], 'counts': str | bytes}``.
        height (int): Image height.
        width (int): Image width.

    Returns:
        np.ndarray: ``(height, width)`` uint8 mask with values in {0, 1}.
    """
    height, width = int(height), int(width)
    if isinstance(segmentation, (list, tuple)):
        polygons = list(segmentation)
        if polygons and not isinstance(polygons[0], (list, tuple)):
            polygons = [polygons]
        polygons = [[float(v) for v in p] for p in polygons if len(p) >= 6]
        if not polygons:
            return np.zeros((height, width), dtype=np.uint8)
        rle = mask_utils.merge(
            mask_utils.frPyObjects(polygons, height, width))
    elif isinstance(segmentation, dict):
        if 'counts' not in segmentation or 'size' not in segmentation:
            raise ValueError(
                'RLE segmentation needs "size" and "counts", got keys '
                f'{sorted(segmentation)}')
        _check_size(segmentation['size'], height, width)
        counts = segmentation['counts']
        if isinstance(counts, (list, tuple)):
            rle = mask_utils.frPyObjects(
                dict(size=[height, width], counts=list(counts)), height,
                width)
        elif isinstance(counts, (str, bytes)):
            rle = dict(
                size=[height, width],
                counts=counts.encode('ascii')
                if isinstance(counts, str) else counts)
        else:
            raise TypeError('RLE "counts" must be a list of ints or a '
                            f'string, got {type(counts).__name__}')
    else:
        raise TypeError('segmentation must be a polygon list or an RLE '
                        f'dict, got {type(segmentation).__name__}')
    mask = mask_utils.decode(rle)  # Fortran order
    if mask.dtype == np.uint8 and mask.flags.f_contiguous and mask.size:
        # the same array in C order; cv2's transpose is ~10x faster than
        # numpy's strided copy (a training-pipeline cost, issue 12)
        return cv2.transpose(mask.T)
    return np.ascontiguousarray(mask, dtype=np.uint8)


def _load_png_mask(path: str) -> np.ndarray:
    check_file_exists(path, 'mask', 'mask image')
    with Image.open(path) as img:
        if img.mode in ('RGBA', 'LA'):
            # Alpha is not a label: use the colour channels only.
            img = img.convert('RGB' if img.mode == 'RGBA' else 'L')
        arr = np.asarray(img)
    if arr.ndim == 3:
        arr = arr.any(axis=-1)
    return (arr != 0).astype(np.uint8)


def load_ref_mask(ref_mask: Dict[str, Any]) -> np.ndarray:
    """Decode the ``ref_mask`` entry of an mmris data info.

    Args:
        ref_mask (dict): Either ``dict(segmentation=..., height=H,
            width=W)`` (polygons or RLE, see :func:`decode_ref_mask`) or
            ``dict(png=path)``: a mask image (PNG or any format PIL reads)
            in which every nonzero pixel is the object (palette images use
            the palette index; alpha is ignored).

    Returns:
        np.ndarray: ``(H, W)`` uint8 mask with values in {0, 1}.
    """
    if not isinstance(ref_mask, dict):
        raise TypeError(f'ref_mask must be a dict, got {ref_mask!r}')
    if 'png' in ref_mask:
        return _load_png_mask(ref_mask['png'])
    if 'segmentation' in ref_mask:
        missing = [k for k in ('height', 'width') if k not in ref_mask]
        if missing:
            raise KeyError(f'ref_mask with a segmentation needs {missing}')
        return decode_ref_mask(ref_mask['segmentation'], ref_mask['height'],
                               ref_mask['width'])
    raise KeyError('ref_mask needs "segmentation" (+ "height", "width") or '
                   f'"png", got keys {sorted(ref_mask)}')

