"""Synthetic referring scenes: coloured shapes on a grid, REFER format.

:func:`make_synthetic_scenes` draws small images with 2-4 objects (4 colours
x 3 shapes, placed in distinct cells of a 3x3 grid with jitter) and writes
them in the REFER toolkit's layout, so that the real :class:`RefCOCODataset`,
pipelines, models and metric run on them unchanged::

    root/
      coco/train2014/COCO_train2014_000000000001.jpg ...
      refcoco/instances.json        COCO instances, polygon segmentations
      refcoco/refs(unc).p           refs with splits 'train' and 'val'

Every object of every image is a ref. Its expressions are built so that they
pick out exactly that object and nothing else in the scene, using the fewest
attribute kinds possible, so that across the dataset each word kind is
necessary:

- shape alone when the shape is unique ("the circle"),
- colour alone when the colour is unique ("the red one"),
- colour + shape when only the pair is unique ("the red circle"),
- a position word when two objects look identical ("the red circle on the
  left", "the blue square at the top"). The target then lies in a grid
  column (row) strictly left of (above, ...) every other matching object, so
  absolute and relative readings agree.

Scenes are generated with a bias towards shared attributes (same colour, same
shape, identical twins) so that the harder cases are frequent. A model that
ignores the text can at best guess among the 2-4 objects; the quick start
(``tools/quickstart.sh``) compares a trained tiny CRIS with that chance
level.
"""
import json
import math
import os
import os.path as osp
import pickle
import random
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

__all__ = [
    'make_synthetic_scenes', 'COLOURS', 'SHAPES', 'POSITIONS',
    'matching_objects'
]

#: Colour names and their RGB values.
COLOURS: Dict[str, Tuple[int, int, int]] = {
    'red': (220, 40, 40),
    'green': (40, 170, 60),
    'blue': (40, 80, 225),
    'yellow': (235, 205, 30),
}
#: Shape names; also the COCO categories (ids 1, 2, 3).
SHAPES: Tuple[str, ...] = ('circle', 'square', 'triangle')
#: Position words: (axis, direction). ``'left'``: smallest grid column.
POSITIONS: Dict[str, Tuple[str, int]] = {
    'left': ('col', -1),
    'right': ('col', 1),
    'top': ('row', -1),
    'bottom': ('row', 1),
}
_GRID = 3
_IMAGE_ID_BASE = 1


def matching_objects(objects: Sequence[dict],
                     colour: Optional[str] = None,
                     shape: Optional[str] = None,
                     position: Optional[str] = None) -> List[int]:
    """Indices of the objects an expression's words select.

    ``colour`` and ``shape`` filter the objects; ``position`` then keeps the
    one object whose grid cell is strictly the most extreme along the
    position's axis (an empty list when two candidates tie).

    Args:
        objects (Sequence[dict]): Objects with ``colour``, ``shape``,
            ``row`` and ``col``.
        colour (str, optional): Colour word.
        shape (str, optional): Shape word.
        position (str, optional): One of :data:`POSITIONS`.

    Returns:
        list[int]: Indices into ``objects``.
    """
    idx = [
        i for i, o in enumerate(objects)
        if (colour is None or o['colour'] == colour) and (
            shape is None or o['shape'] == shape)
    ]
    if position is None or not idx:
        return idx
    axis, sign = POSITIONS[position]
    keys = [sign * objects[i][axis] for i in idx]
    best = min(keys)
    winners = [i for i, k in zip(idx, keys) if k == best]
    return winners if len(winners) == 1 else []


def _descriptions(objects: Sequence[dict],
                  target: int) -> List[Tuple[Optional[str], Optional[str],
                                             Optional[str]]]:
    """Minimal (colour, shape, position) tuples that select ``target``.

    Tiers, first non-empty wins: one attribute; colour + shape; one
    attribute + position; colour + shape + position. A position word is
    only used when the attributes leave several candidates.
    """
    obj = objects[target]
    colour, shape = obj['colour'], obj['shape']
    tiers = [
        [(colour, None), (None, shape)],
        [(colour, shape)],
        [(colour, None), (None, shape)],
        [(colour, shape)],
    ]
    for k, tier in enumerate(tiers):
        found = []
        for c, s in tier:
            if k < 2:
                if matching_objects(objects, c, s) == [target]:
                    found.append((c, s, None))
                continue
            if len(matching_objects(objects, c, s)) < 2:
                continue
            for position in POSITIONS:
                if matching_objects(objects, c, s, position) == [target]:
                    found.append((c, s, position))
        if found:
            return found
    raise AssertionError('every object has a unique description')


def _phrase(rng: random.Random, colour: Optional[str], shape: Optional[str],
            position: Optional[str]) -> str:
    """Render a (colour, shape, position) description as an expression."""
    if colour and shape:
        noun = rng.choice(['the {c} {s}', '{c} {s}']).format(c=colour, s=shape)
    elif shape:
        noun = rng.choice(['the {s}', '{s}']).format(s=shape)
    else:
        noun = rng.choice(['the {c} one', 'the {c} shape',
                           '{c} object']).format(c=colour)
    if position is None:
        return noun
    if rng.random() < 0.3 and noun.startswith('the '):
        return f'the {position} {noun[4:]}'
    prep = 'on the' if position in ('left', 'right') else 'at the'
    return f'{noun} {prep} {position}'


def _object_types(rng: random.Random, num: int) -> List[Tuple[str, str]]:
    """Colour/shape pairs biased towards shared attributes."""
    colours, shapes = list(COLOURS), list(SHAPES)
    types = [(rng.choice(colours), rng.choice(shapes))]
    while len(types) < num:
        ref_colour, ref_shape = rng.choice(types)
        r = rng.random()
        if r < 0.3:  # an identical twin: needs a position word
            new = (ref_colour, ref_shape)
        elif r < 0.55:  # same colour, another shape
            new = (ref_colour, rng.choice(shapes))
        elif r < 0.8:  # same shape, another colour
            new = (rng.choice(colours), ref_shape)
        else:
            new = (rng.choice(colours), rng.choice(shapes))
        # at most two identical objects, so that one position word suffices
        if types.count(new) >= 2:
            continue
        types.append(new)
    return types


def _polygon(shape: str, cx: float, cy: float, r: float,
             angle: float) -> List[float]:
    """Polygon of a shape, flat [x1, y1, x2, y2, ...]."""
    if shape == 'circle':
        n, r_eff, rot = 24, r, 0.0
    elif shape == 'square':
        n, r_eff, rot = 4, r * 1.2, math.pi / 4 + angle
    elif shape == 'triangle':
        n, r_eff, rot = 3, r * 1.25, -math.pi / 2 + angle
    else:
        raise ValueError(f'unknown shape {shape!r}')
    points = []
    for k in range(n):
        a = rot + 2 * math.pi * k / n
        points += [round(cx + r_eff * math.cos(a), 2),
                   round(cy + r_eff * math.sin(a), 2)]
    return points


def _scene(rng: random.Random, image_size: int) -> List[dict]:
    """Objects of one scene: type, grid cell, centre, polygon."""
    num = rng.randint(2, 4)
    types = _object_types(rng, num)
    cells = rng.sample([(r, c) for r in range(_GRID) for c in range(_GRID)],
                       num)
    cell = image_size / _GRID
    objects = []
    for (colour, shape), (row, col) in zip(types, cells):
        r = rng.uniform(0.27, 0.36) * cell
        jitter = cell / 2 - r * 1.25 - 1
        cx = (col + 0.5) * cell + rng.uniform(-jitter, jitter)
        cy = (row + 0.5) * cell + rng.uniform(-jitter, jitter)
        angle = rng.uniform(-0.3, 0.3)
        objects.append(
            dict(colour=colour, shape=shape, row=row, col=col,
                 polygon=_polygon(shape, cx, cy, r, angle)))
    return objects


def _draw(objects: Sequence[dict], image_size: int,
          np_rng: np.random.Generator) -> Image.Image:
    base = np_rng.integers(90, 170)
    noise = np_rng.normal(0, 8, size=(image_size, image_size, 3))
    pixels = np.clip(base + noise, 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, mode='RGB')
    draw = ImageDraw.Draw(image)
    for obj in objects:
        pts = obj['polygon']
        jitter = np_rng.integers(-15, 16, size=3)
        fill = tuple(
            int(np.clip(v + j, 0, 255))
            for v, j in zip(COLOURS[obj['colour']], jitter))
        draw.polygon(list(zip(pts[0::2], pts[1::2])), fill=fill)
    return image


def _bbox(polygon: Sequence[float]) -> List[float]:
    xs, ys = polygon[0::2], polygon[1::2]
    return [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]


def _area(polygon: Sequence[float]) -> float:
    xs, ys = polygon[0::2], polygon[1::2]
    n = len(xs)
    return abs(sum(xs[i] * ys[(i + 1) % n] - xs[(i + 1) % n] * ys[i]
                   for i in range(n))) / 2


def make_synthetic_scenes(root: str,
                          num_train: int = 1000,
                          num_val: int = 100,
                          image_size: int = 96,
                          seed: int = 0,
                          sentences_per_ref: int = 2,
                          dataset: str = 'refcoco',
                          split_by: str = 'unc') -> Dict[str, Any]:
    """Write a synthetic REFER data root.

    Args:
        root (str): Output folder (created if needed).
        num_train (int): Images of the ``train`` split. Defaults to 1000.
        num_val (int): Images of the ``val`` split. Defaults to 100.
        image_size (int): Side of the square images. Defaults to 96.
        seed (int): Seed; the output is a function of the arguments.
            Defaults to 0.
        sentences_per_ref (int): Expressions per ref (distinct wordings of
            minimal descriptions). Defaults to 2.
        dataset (str): Folder / dataset name. Defaults to ``'refcoco'``,
            which ``RefCOCODataset(dataset='refcoco')`` reads.
        split_by (str): Refs file suffix, ``refs({split_by}).p``. Defaults
            to ``'unc'``.

    Returns:
        dict: ``root``, ``ann_file``, ``refs_file``, and per split the
        number of images, refs and sentences.
    """
    if num_train < 1 or num_val < 1:
        raise ValueError('num_train and num_val must be >= 1')
    rng = random.Random(seed)
    np_rng = np.random.default_rng(seed)
    image_dir = osp.join(root, 'coco', 'train2014')
    os.makedirs(image_dir, exist_ok=True)
    os.makedirs(osp.join(root, dataset), exist_ok=True)

    images, annotations, refs = [], [], []
    summary: Dict[str, Any] = dict(root=root)
    ann_id = ref_id = sent_id = 0
    splits = ['train'] * num_train + ['val'] * num_val
    for index, split in enumerate(splits):
        image_id = _IMAGE_ID_BASE + index
        file_name = f'COCO_train2014_{image_id:012d}.jpg'
        objects = _scene(rng, image_size)
        _draw(objects, image_size, np_rng).save(
            osp.join(image_dir, file_name), quality=95)
        images.append(
            dict(id=image_id, file_name=file_name, height=image_size,
                 width=image_size))
        used_texts = set()
        for k, obj in enumerate(objects):
            ann_id += 1
            annotations.append(
                dict(id=ann_id, image_id=image_id,
                     category_id=SHAPES.index(obj['shape']) + 1,
                     segmentation=[obj['polygon']],
                     area=_area(obj['polygon']), bbox=_bbox(obj['polygon']),
                     iscrowd=0, colour=obj['colour'], grid=[obj['row'],
                                                            obj['col']]))
            options = _descriptions(objects, k)
            # sometimes over-specify: colour and shape when they suffice
            if (options[0][2] is None and None in options[0][:2]
                    and rng.random() < 0.25 and matching_objects(
                        objects, obj['colour'], obj['shape']) == [k]):
                options = [(obj['colour'], obj['shape'], None)]
            texts: List[str] = []
            for _ in range(10 * sentences_per_ref):
                if len(texts) == sentences_per_ref:
                    break
                text = _phrase(rng, *rng.choice(options))
                if text not in texts and text not in used_texts:
                    texts.append(text)
            used_texts.update(texts)
            sentences = []
            for text in texts:
                sentences.append(
                    dict(tokens=text.split(), raw=text, sent=text,
                         sent_id=sent_id))
                sent_id += 1
            refs.append(
                dict(ref_id=ref_id, ann_id=ann_id, image_id=image_id,
                     split=split, category_id=SHAPES.index(obj['shape']) + 1,
                     file_name=f'COCO_train2014_{image_id:012d}_{ann_id}.jpg',
                     sent_ids=[s['sent_id'] for s in sentences],
                     sentences=sentences))
            ref_id += 1
    categories = [
        dict(id=i + 1, name=name, supercategory='shape')
        for i, name in enumerate(SHAPES)
    ]
    ann_file = osp.join(root, dataset, 'instances.json')
    with open(ann_file, 'w') as f:
        json.dump(
            dict(info=dict(description='mmris synthetic scenes'),
                 images=images, annotations=annotations,
                 categories=categories), f)
    refs_file = osp.join(root, dataset, f'refs({split_by}).p')
    with open(refs_file, 'wb') as f:
        pickle.dump(refs, f, protocol=2)
    summary.update(ann_file=ann_file, refs_file=refs_file)
    for split in ('train', 'val'):
        in_split = [r for r in refs if r['split'] == split]
        summary[split] = dict(
            num_images=len({r['image_id'] for r in in_split}),
            num_refs=len(in_split),
            num_sentences=sum(len(r['sentences']) for r in in_split))
    return summary
