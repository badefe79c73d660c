"""Small REFER-format data roots for tests.

:func:`make_refer_data_root` writes a miniature copy of the layout that the
REFER toolkit (``refcoco``, ``refcoco+`` and ``refcocog``) distributes::

    root/
      coco/train2014/COCO_train2014_000000001000.jpg ...
      refcoco/{instances.json, refs(unc).p}
      refcoco+/{instances.json, refs(unc).p}
      refcocog/{instances.json, refs(umd).p, refs(google).p}

The data is deliberately awkward so that loaders are exercised on the cases
that break them in practice: odd image sizes in portrait and landscape, a
grayscale JPEG, an RGBA image stored as PNG, single- and multi-part polygons,
uncompressed (``iscrowd=1``) and compressed RLE masks, unicode and very long
expressions, refs with several sentences. The ``refs(*).p`` pickles are
written byte-for-byte the way Python 2 wrote them (protocol 2, Python-2
``str`` objects holding UTF-8 bytes), which a plain Python-3
``pickle.load`` cannot decode when the text is not ASCII.
"""
import io
import json
import os
import os.path as osp
import random
import struct
from typing import Any, Dict, List, Sequence

import numpy as np
from PIL import Image, ImageDraw
from pycocotools import mask as mask_utils

__all__ = ['make_refer_data_root', 'dumps_py2_pickle', 'dump_py2_pickle']

# --------------------------------------------------------------------------
# Python-2 style pickle writer (protocol 2, opcode level).
# --------------------------------------------------------------------------
_PROTO = b'\x80'
_STOP = b'.'
_MARK = b'('
_NONE = b'N'
_NEWTRUE = b'\x88'
_NEWFALSE = b'\x89'
_BININT = b'J'
_BININT1 = b'K'
_BININT2 = b'M'
_LONG1 = b'\x8a'
_BINFLOAT = b'G'
_SHORT_BINSTRING = b'U'
_BINSTRING = b'T'
_EMPTY_LIST = b']'
_APPENDS = b'e'
_EMPTY_DICT = b'}'
_SETITEMS = b'u'
_EMPTY_TUPLE = b')'
_TUPLE = b't'

# Python 2's cPickle flushed SETITEMS / APPENDS every 1000 items.
_BATCH = 1000


def _write_py2(obj: Any, out: io.BytesIO) -> None:
    """Append the protocol-2 opcodes of ``obj`` to ``out``."""
    if obj is None:
        out.write(_NONE)
    elif obj is True:
        out.write(_NEWTRUE)
    elif obj is False:
        out.write(_NEWFALSE)
    elif isinstance(obj, int):
        if 0 <= obj < 0x100:
            out.write(_BININT1 + struct.pack('<B', obj))
        elif 0 <= obj < 0x10000:
            out.write(_BININT2 + struct.pack('<H', obj))
        elif -0x80000000 <= obj < 0x80000000:
            out.write(_BININT + struct.pack('<i', obj))
        else:
            nbytes = (obj.bit_length() + 8) // 8
            data = obj.to_bytes(nbytes, 'little', signed=True)
            out.write(_LONG1 + struct.pack('<B', nbytes) + data)
    elif isinstance(obj, float):
        out.write(_BINFLOAT + struct.pack('>d', obj))
    elif isinstance(obj, (str, bytes)):
        # A Python-2 ``str`` is a byte string: text goes in as UTF-8 bytes.
        data = obj.encode('utf-8') if isinstance(obj, str) else obj
        if len(data) < 0x100:
            out.write(_SHORT_BINSTRING + struct.pack('<B', len(data)) + data)
        else:
            out.write(_BINSTRING + struct.pack('<i', len(data)) + data)
    elif isinstance(obj, list):
        out.write(_EMPTY_LIST)
        for start in range(0, len(obj), _BATCH):
            out.write(_MARK)
            for item in obj[start:start + _BATCH]:
                _write_py2(item, out)
            out.write(_APPENDS)
    elif isinstance(obj, tuple):
        if not obj:
            out.write(_EMPTY_TUPLE)
        else:
            out.write(_MARK)
            for item in obj:
                _write_py2(item, out)
            out.write(_TUPLE)
    elif isinstance(obj, dict):
        out.write(_EMPTY_DICT)
        items = list(obj.items())
        for start in range(0, len(items), _BATCH):
            out.write(_MARK)
            for key, value in items[start:start + _BATCH]:
                _write_py2(key, out)
                _write_py2(value, out)
            out.write(_SETITEMS)
    else:
        raise TypeError(
            f'dumps_py2_pickle: cannot write objects of type '
            f'{type(obj).__name__!r} (value {obj!r}); supported: dict, list, '
            'tuple, str, bytes, int, float, bool and None.')


def dumps_py2_pickle(obj: Any) -> bytes:
    """Serialise ``obj`` as Python 2's ``pickle.dumps(obj, 2)`` would.

    Every ``str`` is written as a Python-2 byte string (``SHORT_BINSTRING`` /
    ``BINSTRING`` holding its UTF-8 encoding), as the REFER toolkit's
    ``refs(*).p`` files are. No memo entries are written (the pickle has no
    shared references), which every unpickler accepts.

    Args:
        obj (Any): Nested dict / list / tuple of str, bytes, int, float,
            bool and None.

    Returns:
        bytes: The pickle stream.
    """
    out = io.BytesIO()
    out.write(_PROTO + b'\x02')
    _write_py2(obj, out)
    out.write(_STOP)
    return out.getvalue()


def dump_py2_pickle(obj: Any, path: str) -> None:
    """Write :func:`dumps_py2_pickle` of ``obj`` to ``path``.

    Args:
        obj (Any): See :func:`dumps_py2_pickle`.
        path (str): Output file; parent folders are created.
    """
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(dumps_py2_pickle(obj))


# --------------------------------------------------------------------------
# Data generation.
# --------------------------------------------------------------------------
# (width, height): odd sizes, portrait and landscape, one tiny square.
_IMAGE_SIZES = [(37, 53), (121, 64), (64, 121), (53, 37), (97, 33),
                (33, 97), (80, 61), (45, 45)]
# Per-image storage: index 1 is a grayscale JPEG, index 2 an RGBA PNG.
_GRAY_INDEX = 1
_RGBA_INDEX = 2
_MASK_KINDS = ('polygon', 'multi_polygon', 'rle', 'compressed_rle')

_CATEGORIES = [
    dict(id=1, name='person', supercategory='person'),
    dict(id=18, name='dog', supercategory='animal'),
    dict(id=62, name='chair', supercategory='furniture'),
    dict(id=47, name='cup', supercategory='kitchen'),
]
_COLOURS = ['red', 'green', 'blue', 'white', 'black', 'yellow']
_POSITIONS = ['left', 'right', 'top', 'bottom', 'middle']
_UNICODE_SENTENCES = [
    'the café chair on the left — naïve señor’s seat',
    'man with the 帽子 hat, über tall, smiling ☺',
    'la tasse bleue à droite près de l’élève',
]
_LONG_SENTENCE_WORDS = (
    'the {colour} {name} that is standing just a little bit to the {pos} of '
    'the other object in this picture which you can see clearly because it '
    'is very close to the camera and it also has a slightly strange shape '
    'that nobody would expect from such an ordinary thing found in a room '
    'like this one on a sunny afternoon in the late summer of some year')

_SPLITS = {
    ('refcoco', 'unc'): ('train', 'val', 'testA', 'testB'),
    ('refcoco+', 'unc'): ('train', 'val', 'testA', 'testB'),
    ('refcocog', 'umd'): ('train', 'val', 'test'),
    ('refcocog', 'google'): ('train', 'val'),
}
_IMAGE_ID_BASE = 1000
_IMAGE_ID_STEP = 7


def _file_name(image_id: int, index: int) -> str:
    ext = 'png' if index == _RGBA_INDEX else 'jpg'
    return f'COCO_train2014_{image_id:012d}.{ext}'


def _polygon(rng: random.Random, x0: float, y0: float, x1: float,
             y1: float) -> List[float]:
    """A convex polygon (5 points, floats) inside the box (x0, y0, x1, y1)."""
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    rx, ry = (x1 - x0) / 2, (y1 - y0) / 2
    points = []
    for k in range(5):
        angle = 2 * np.pi * (k + rng.uniform(-0.15, 0.15)) / 5
        points += [
            round(cx + rx * np.cos(angle), 2),
            round(cy + ry * np.sin(angle), 2)
        ]
    return points


def _ellipse_mask(rng: random.Random, height: int,
                  width: int) -> np.ndarray:
    yy, xx = np.mgrid[:height, :width]
    cx, cy = rng.uniform(0.3, 0.7) * width, rng.uniform(0.3, 0.7) * height
    rx, ry = rng.uniform(0.15, 0.3) * width, rng.uniform(0.15, 0.3) * height
    inside = ((xx - cx) / rx)**2 + ((yy - cy) / ry)**2 <= 1
    return inside.astype(np.uint8)


def _uncompressed_rle(mask: np.ndarray) -> Dict[str, Any]:
    """COCO uncompressed RLE: column-major run lengths, zeros first."""
    flat = mask.flatten(order='F')
    counts = []
    current, run = 0, 0
    for value in flat:
        if value == current:
            run += 1
        else:
            counts.append(run)
            current, run = value, 1
    counts.append(run)
    return dict(size=[int(mask.shape[0]), int(mask.shape[1])],
                counts=[int(c) for c in counts])


def _make_annotation(rng: random.Random, kind: str, ann_id: int,
                     image_id: int, category_id: int, height: int,
                     width: int) -> Dict[str, Any]:
    """One COCO annotation of the given mask kind."""
    if kind == 'polygon':
        segmentation: Any = [
            _polygon(rng, 0.1 * width, 0.1 * height, 0.6 * width,
                     0.7 * height)
        ]
        iscrowd = 0
    elif kind == 'multi_polygon':
        segmentation = [
            _polygon(rng, 0.05 * width, 0.05 * height, 0.4 * width,
                     0.4 * height),
            _polygon(rng, 0.55 * width, 0.5 * height, 0.95 * width,
                     0.95 * height),
            _polygon(rng, 0.6 * width, 0.05 * height, 0.9 * width,
                     0.35 * height),
        ]
        iscrowd = 0
    elif kind == 'rle':
        segmentation = _uncompressed_rle(_ellipse_mask(rng, height, width))
        iscrowd = 1
    elif kind == 'compressed_rle':
        encoded = mask_utils.encode(
            np.asfortranarray(_ellipse_mask(rng, height, width)))
        segmentation = dict(
            size=[int(s) for s in encoded['size']],
            counts=encoded['counts'].decode('ascii'))
        iscrowd = 1
    else:
        raise ValueError(f'unknown mask kind {kind!r}')
    mask = _decode(segmentation, height, width)
    ys, xs = np.nonzero(mask)
    bbox = [
        float(xs.min()),
        float(ys.min()),
        float(xs.max() - xs.min() + 1),
        float(ys.max() - ys.min() + 1)
    ]
    return dict(
        id=ann_id,
        image_id=image_id,
        category_id=category_id,
        segmentation=segmentation,
        area=float(mask.sum()),
        bbox=bbox,
        iscrowd=iscrowd)


def _decode(segmentation: Any, height: int, width: int) -> np.ndarray:
    """pycocotools decoding (generator-side, independent of mmris)."""
    if isinstance(segmentation, list):
        rle = mask_utils.merge(
            mask_utils.frPyObjects(segmentation, height, width))
    elif isinstance(segmentation['counts'], list):
        rle = mask_utils.frPyObjects(segmentation, height, width)
    else:
        rle = dict(
            size=segmentation['size'],
            counts=segmentation['counts'].encode('ascii'))
    return mask_utils.decode(rle)


def _write_image(path: str, index: int, width: int, height: int,
                 masks: Sequence[np.ndarray], rng: random.Random) -> str:
    """Write a noisy image with each object painted in its own colour."""
    np_rng = np.random.default_rng(rng.randrange(2**31))
    pixels = np_rng.integers(0, 96, size=(height, width, 3), dtype=np.uint8)
    for k, mask in enumerate(masks):
        colour = np.array([(80 * (k + 1)) % 256, 255 - 60 * k, 40 + 70 * k],
                          dtype=np.uint8)
        pixels[mask.astype(bool)] = colour
    image = Image.fromarray(pixels, mode='RGB')
    if index == _GRAY_INDEX:
        image.convert('L').save(path, format='JPEG', quality=90)
        return 'L'
    if index == _RGBA_INDEX:
        alpha = np.full((height, width), 255, dtype=np.uint8)
        alpha[:, :width // 3] = 128
        rgba = image.convert('RGBA')
        rgba.putalpha(Image.fromarray(alpha, mode='L'))
        rgba.save(path, format='PNG')
        return 'RGBA'
    # Draw a thin frame so that JPEG content is not pure noise.
    ImageDraw.Draw(image).rectangle([0, 0, width - 1, height - 1],
                                    outline=(255, 255, 255))
    image.save(path, format='JPEG', quality=90)
    return 'RGB'


def _sentence(rng: random.Random, style: str, category: str) -> str:
    colour, pos = rng.choice(_COLOURS), rng.choice(_POSITIONS)
    if style == 'unicode':
        return rng.choice(_UNICODE_SENTENCES)
    if style == 'long':
        return _LONG_SENTENCE_WORDS.format(colour=colour, name=category,
                                           pos=pos)
    templates = [
        '{colour} {name} on the {pos}',
        '{pos} {name}',
        'the {colour} {name} in the {pos}',
        '{name} second from {pos}',
    ]
    return rng.choice(templates).format(colour=colour, name=category, pos=pos)


def _make_sentences(rng: random.Random, first_ref: bool, category: str,
                    next_sent_id: int) -> List[Dict[str, Any]]:
    """1-3 sentences; a dataset's first ref has a unicode and a long one."""
    if first_ref:
        styles = ['plain', 'unicode', 'long']
    else:
        styles = ['plain'] * rng.randint(1, 3)
        if rng.random() < 0.2:
            styles[-1] = 'unicode'
        elif rng.random() < 0.15:
            styles[-1] = 'long'
    sentences = []
    for k, style in enumerate(styles):
        sent = _sentence(rng, style, category)
        raw = sent[0].upper() + sent[1:] + '.'
        sentences.append(
            dict(
                tokens=sent.split(),
                raw=raw,
                sent_id=next_sent_id + k,
                sent=sent))
    return sentences


def _assign_splits(rng: random.Random, image_ids: Sequence[int],
                   splits: Sequence[str]) -> Dict[int, str]:
    """Image-disjoint split assignment with every split non-empty."""
    order = list(image_ids)
    rng.shuffle(order)
    assignment = {}
    for k, image_id in enumerate(order):
        # One image for each non-train split, everything else for training.
        assignment[image_id] = splits[k] if k < len(splits) else 'train'
    return assignment


def _split_summary(refs: Sequence[Dict[str, Any]],
                   splits: Sequence[str]) -> Dict[str, Dict[str, Any]]:
    summary = {}
    for split in splits:
        in_split = [r for r in refs if r['split'] == split]
        summary[split] = dict(
            num_refs=len(in_split),
            num_sentences=sum(len(r['sentences']) for r in in_split),
            image_ids=sorted({r['image_id'] for r in in_split}),
            ref_ids=[r['ref_id'] for r in in_split],
            sent_ids=[s for r in in_split for s in r['sent_ids']],
        )
    return summary


def make_refer_data_root(root: str,
                         num_images: int = 8,
                         seed: int = 0) -> Dict[str, Any]:
    """Write a small REFER-format data root for tests.

    All three datasets share the same COCO images (as the real ones share
    ``train2014``). Every annotation of every image is referred to once per
    dataset, splits are image-disjoint and all of them are non-empty. Mask
    kinds cycle through single polygon, multi-part polygon, uncompressed RLE
    and compressed RLE. RefCOCOg's ``refs(umd).p`` and ``refs(google).p``
    hold the same refs with different ``split`` values, as in the release.

    Args:
        root (str): Output folder (created if needed).
        num_images (int): Number of images, at least 4 (one per split of
            RefCOCO). Defaults to 8.
        seed (int): Seed of every random choice; the output is a function of
            ``(num_images, seed)``. Defaults to 0.

    Returns:
        dict: Summary of what was written::

            {
              'root': str,
              'num_images': int,
              'images': [dict(id, file_name, height, width, mode)],
              'mask_kinds': {ann_id: 'polygon' | 'multi_polygon' | 'rle'
                             | 'compressed_rle'},
              'datasets': {
                'refcoco':  {'unc': {split: SPLIT}},
                'refcoco+': {'unc': {split: SPLIT}},
                'refcocog': {'umd': {split: SPLIT},
                             'google': {split: SPLIT}},
              },
            }

        where ``SPLIT = dict(num_refs, num_sentences, image_ids (sorted),
        ref_ids, sent_ids)`` in the pickle's order, and ``mode`` is the PIL
        mode the image was stored in (``'RGB'``, ``'L'`` or ``'RGBA'``).
    """
    if num_images < 4:
        raise ValueError(
            f'make_refer_data_root: num_images must be >= 4 so that every '
            f'split is non-empty, got {num_images}')
    rng = random.Random(seed)
    image_dir = osp.join(root, 'coco', 'train2014')
    os.makedirs(image_dir, exist_ok=True)

    images: List[Dict[str, Any]] = []
    annotations: List[Dict[str, Any]] = []
    mask_kinds: Dict[int, str] = {}
    image_infos: List[Dict[str, Any]] = []
    ann_counter = 0
    for index in range(num_images):
        width, height = _IMAGE_SIZES[index % len(_IMAGE_SIZES)]
        image_id = _IMAGE_ID_BASE + _IMAGE_ID_STEP * index
        file_name = _file_name(image_id, index)
        image_anns = []
        for _ in range(2 + index % 2):
            kind = _MASK_KINDS[ann_counter % len(_MASK_KINDS)]
            ann_id = 50000 + 13 * ann_counter
            category = _CATEGORIES[ann_counter % len(_CATEGORIES)]
            image_anns.append(
                _make_annotation(rng, kind, ann_id, image_id, category['id'],
                                 height, width))
            mask_kinds[ann_id] = kind
            ann_counter += 1
        masks = [
            _decode(a['segmentation'], height, width) for a in image_anns
        ]
        mode = _write_image(
            osp.join(image_dir, file_name), index, width, height, masks, rng)
        images.append(
            dict(
                id=image_id,
                file_name=file_name,
                height=height,
                width=width,
                license=1,
                coco_url='',
                flickr_url='',
                date_captured=''))
        image_infos.append(
            dict(
                id=image_id,
                file_name=file_name,
                height=height,
                width=width,
                mode=mode))
        annotations.extend(image_anns)

    instances = dict(
        info=dict(description='mmris synthetic REFER data'),
        licenses=[dict(id=1, name='CC0', url='')],
        images=images,
        annotations=annotations,
        categories=_CATEGORIES)
    category_names = {c['id']: c['name'] for c in _CATEGORIES}
    image_ids = [img['id'] for img in images]

    summary: Dict[str, Any] = dict(
        root=root,
        num_images=num_images,
        images=image_infos,
        mask_kinds=mask_kinds,
        datasets={})
    for dataset, split_bys in (('refcoco', ('unc', )), ('refcoco+', ('unc', )),
                               ('refcocog', ('umd', 'google'))):
        out_dir = osp.join(root, dataset)
        os.makedirs(out_dir, exist_ok=True)
        with open(osp.join(out_dir, 'instances.json'), 'w') as f:
            json.dump(instances, f)

        # The refs are shared by a dataset's split_bys; only `split` differs.
        assignments = {
            split_by: _assign_splits(rng, image_ids,
                                     _SPLITS[(dataset, split_by)])
            for split_by in split_bys
        }
        refs: List[Dict[str, Any]] = []
        sent_id = 0
        for ref_id, ann in enumerate(annotations):
            name = category_names[ann['category_id']]
            sentences = _make_sentences(rng, ref_id == 0, name, sent_id)
            sent_id += len(sentences)
            refs.append(
                dict(
                    sent_ids=[s['sent_id'] for s in sentences],
                    file_name=(f'COCO_train2014_{ann["image_id"]:012d}_'
                               f'{ann["id"]}.jpg'),
                    ann_id=ann['id'],
                    ref_id=ref_id,
                    image_id=ann['image_id'],
                    split='',
                    sentences=sentences,
                    category_id=ann['category_id']))
        summary['datasets'][dataset] = {}
        for split_by in split_bys:
            split_refs = [
                dict(ref, split=assignments[split_by][ref['image_id']])
                for ref in refs
            ]
            dump_py2_pickle(split_refs,
                            osp.join(out_dir, f'refs({split_by}).p'))
            summary['datasets'][dataset][split_by] = _split_summary(
                split_refs, _SPLITS[(dataset, split_by)])
    return summary

