"""A synthetic REFER data root with RefCOCO's real counts, for benchmarks.

RefCOCO (UNC) as distributed: ``refcoco/refs(unc).p`` with 50,000 refs and
142,210 sentences (train 42,404 / 120,624; val 3,811 / 10,834; testA
1,975 / 5,657; testB 1,810 / 5,095) on 19,994 COCO train2014 images, and
``refcoco/instances.json`` with those images and their 196,771 COCO
annotations (polygons, about 1 % crowd RLE). The files written here have
the same counts, the same record fields and about the same size, so that
loading them costs what loading the real ones costs; the text is random
ASCII words. The pickle is written the way Python 2 wrote the release
(:func:`~mmris.testing.refer_data.dump_py2_pickle`). Image files are not
written (dataset initialisation does not read them).
"""
import json
import os
import os.path as osp
import random
from typing import Any, Dict, List

from .refer_data import dump_py2_pickle

__all__ = ['REFCOCO_COUNTS', 'make_refcoco_size_root']

#: split -> (refs, sentences) of RefCOCO (UNC).
REFCOCO_COUNTS: Dict[str, tuple] = {
    'train': (42404, 120624),
    'val': (3811, 10834),
    'testA': (1975, 5657),
    'testB': (1810, 5095),
}
_NUM_IMAGES = 19994
_NUM_ANNOTATIONS = 196771
_WORDS = ('man left right woman red blue shirt white car dog cat table '
          'chair the on in with front back middle person guy girl boy '
          'black green small big second from top bottom near far tall '
          'elephant zebra giraffe bus truck umbrella plate pizza').split()


def _polygon(rng: random.Random, width: int, height: int) -> List[float]:
    points = rng.randint(8, 40)
    cx, cy = rng.uniform(0, width), rng.uniform(0, height)
    return [
        round(min(max(v, 0.0), bound), 2) for _ in range(points)
        for v, bound in ((cx + rng.gauss(0, width / 8), width),
                         (cy + rng.gauss(0, height / 8), height))
    ]


def _annotation(rng: random.Random, ann_id: int, image: dict) -> dict:
    width, height = image['width'], image['height']
    if rng.random() < 0.01:
        runs = [rng.randint(1, 400) for _ in range(rng.randint(50, 400))]
        segmentation: Any = dict(size=[height, width], counts=runs)
        iscrowd = 1
    else:
        segmentation = [
            _polygon(rng, width, height)
            for _ in range(1 if rng.random() < 0.9 else 2)
        ]
        iscrowd = 0
    x, y = rng.uniform(0, width / 2), rng.uniform(0, height / 2)
    w, h = rng.uniform(5, width / 2), rng.uniform(5, height / 2)
    return dict(
        segmentation=segmentation,
        area=round(w * h * 0.6, 4),
        iscrowd=iscrowd,
        image_id=image['id'],
        bbox=[round(x, 2), round(y, 2), round(w, 2), round(h, 2)],
        category_id=rng.randint(1, 90),
        id=ann_id)


def _sentence(rng: random.Random, sent_id: int) -> dict:
    tokens = [rng.choice(_WORDS) for _ in range(rng.randint(1, 9))]
    sent = ' '.join(tokens)
    return dict(tokens=tokens, raw=sent.capitalize(), sent_id=sent_id,
                sent=sent)


def make_refcoco_size_root(root: str, scale: float = 1.0,
                           seed: int = 0) -> Dict[str, Any]:
    """Write ``root/refcoco/{instances.json, refs(unc).p}``.

    Args:
        root (str): Output data root (created if needed).
        scale (float): Fraction of the real counts (1.0: RefCOCO's size;
            small values for tests). Every split keeps at least one ref.
        seed (int): Seed of every random choice.

    Returns:
        dict: ``refs_file``, ``ann_file``, ``num_images``,
        ``num_annotations`` and ``splits`` (split -> (refs, sentences)).
    """
    if not 0 < scale <= 1:
        raise ValueError(f'scale must be in (0, 1], got {scale}')
    rng = random.Random(seed)
    num_images = max(4, round(_NUM_IMAGES * scale))
    num_anns = max(num_images, round(_NUM_ANNOTATIONS * scale))
    images = []
    for k in range(num_images):
        image_id = 9 + 29 * k
        width, height = rng.choice([(640, 480), (480, 640), (640, 427),
                                    (500, 375), (612, 612)])
        images.append(
            dict(license=rng.randint(1, 8),
                 file_name=f'COCO_train2014_{image_id:012d}.jpg',
                 coco_url='http://images.cocodataset.org/train2014/'
                 f'COCO_train2014_{image_id:012d}.jpg',
                 height=height, width=width,
                 date_captured='2013-11-14 16:28:13',
                 flickr_url='http://farm3.staticflickr.com/x.jpg',
                 id=image_id))
    annotations = [
        _annotation(rng, 1000 + 7 * k, images[k % num_images])
        for k in range(num_anns)
    ]
    splits = {
        split: (max(1, round(refs * scale)), max(1, round(sents * scale)))
        for split, (refs, sents) in REFCOCO_COUNTS.items()
    }
    # image-disjoint splits, in the release's proportions
    total_refs = sum(r for r, _ in splits.values())
    refs: List[dict] = []
    ref_id = sent_id = 0
    ann_index = 0
    image_start = 0
    for split, (num_refs, num_sents) in splits.items():
        share = max(1, round(num_images * num_refs / total_refs))
        split_images = list(range(image_start, min(num_images,
                                                   image_start + share)))
        image_start += share
        split_images = split_images or [num_images - 1]
        # sentences per ref: num_sents spread over num_refs (>= 1 each)
        per_ref = [1] * num_refs
        for _ in range(max(0, num_sents - num_refs)):
            per_ref[rng.randrange(num_refs)] += 1
        for k in range(num_refs):
            image = images[split_images[k % len(split_images)]]
            ann = annotations[ann_index % num_anns]
            ann_index += 1
            sentences = [
                _sentence(rng, sent_id + j) for j in range(per_ref[k])
            ]
            sent_id += per_ref[k]
            refs.append(
                dict(sent_ids=[s['sent_id'] for s in sentences],
                     file_name=f'COCO_train2014_{image["id"]:012d}_'
                     f'{ann["id"]}.jpg',
                     ann_id=ann['id'], ref_id=ref_id, image_id=image['id'],
                     split=split, sentences=sentences,
                     category_id=ann['category_id']))
            ref_id += 1
            # the annotation belongs to the ref's image
            ann['image_id'] = image['id']
    rng.shuffle(refs)  # the release interleaves the splits
    out = osp.join(root, 'refcoco')
    os.makedirs(out, exist_ok=True)
    ann_file = osp.join(out, 'instances.json')
    with open(ann_file, 'w') as f:
        json.dump(dict(info=dict(description='mmris RefCOCO-size synthetic'),
                       licenses=[dict(id=k, name='', url='')
                                 for k in range(1, 9)],
                       images=images, annotations=annotations,
                       categories=[dict(supercategory='thing', id=k,
                                        name=f'category{k}')
                                   for k in range(1, 91)]), f)
    refs_file = osp.join(out, 'refs(unc).p')
    dump_py2_pickle(refs, refs_file)
    return dict(refs_file=refs_file, ann_file=ann_file,
                num_images=num_images, num_annotations=num_anns,
                splits=splits)
