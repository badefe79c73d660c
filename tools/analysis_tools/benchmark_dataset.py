"""Time of ``RefCOCODataset`` initialisation against reading its files.

    python tools/dataset_converters/make_refcoco_size_root.py ROOT
    python tools/analysis_tools/benchmark_dataset.py ROOT [--split train] \\
        [--repeat 5] [--json OUT]

Builds ``RefCOCODataset(data_root=ROOT, dataset='refcoco', split=...)``
(one sample per sentence; RefCOCO's train split has 120,624) and compares
it with the floor: ``pickle.load`` of ``refs(unc).p`` plus ``json.load`` of
``instances.json``, nothing else (issue 12's yardstick, the ratio's
denominator, measured with the garbage collector on, as a script that
does nothing else runs). For transparency the floor of what the dataset
itself reads with is printed too: ``pickle.load`` plus ``orjson.loads``
(the dataset's parser when orjson is installed) with the collector
paused, as the dataset pauses it. Runs
are interleaved in one process; the medians, the ratios and the pickled
size of the dataset object (what every DataLoader worker receives) are
printed. ``--generate SCALE`` writes
a synthetic root of that fraction of RefCOCO's size first (see
``make_refcoco_size_root.py``).
"""
import argparse
import gc
import json
import os.path as osp
import pickle
import time
from typing import List, Optional

import mmris  # noqa: F401  (must precede mmseg imports)
from mmengine.registry import init_default_scope

from mmris.datasets import RefCOCODataset
from mmris.utils.benchmark_report import print_table, write_json


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('root', help='REFER data root with refcoco/')
    parser.add_argument('--split', default='train')
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument(
        '--generate', type=float, metavar='SCALE',
        help='first write a synthetic root of this fraction of RefCOCO')
    parser.add_argument('--json', help='also write the result here')
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error('--repeat must be >= 1')
    return args


def _floor(refs_file: str, ann_file: str) -> float:
    """Seconds to ``pickle.load`` the refs and ``json.load`` the JSON."""
    start = time.perf_counter()
    with open(refs_file, 'rb') as f:
        pickle.load(f)
    with open(ann_file, encoding='utf-8') as f:
        json.load(f)
    return time.perf_counter() - start


def _floor_orjson(refs_file: str, ann_file: str) -> Optional[float]:
    """The same with ``orjson.loads`` of the JSON bytes and the garbage
    collector paused (freeing the objects not counted, as in
    :func:`_floor`); None without orjson."""
    try:
        import orjson
    except ImportError:
        return None
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        with open(refs_file, 'rb') as f:
            refs = pickle.load(f)
        with open(ann_file, 'rb') as f:
            coco = orjson.loads(f.read())
        seconds = time.perf_counter() - start
        del refs, coco
    finally:
        if was_enabled:
            gc.enable()
    return seconds


def _median(values: List[float]) -> float:
    return sorted(values)[len(values) // 2]


def _init(root: str, split: str):
    start = time.perf_counter()
    dataset = RefCOCODataset(data_root=root, dataset='refcoco', split=split,
                             pipeline=[])
    return time.perf_counter() - start, dataset


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    init_default_scope('mmris')
    if args.generate:
        from mmris.testing.refcoco_size_root import make_refcoco_size_root
        make_refcoco_size_root(args.root, args.generate)
    refs_file = osp.join(args.root, 'refcoco', 'refs(unc).p')
    ann_file = osp.join(args.root, 'refcoco', 'instances.json')
    floors, orjson_floors, inits = [], [], []
    dataset = None
    for _ in range(args.repeat):  # interleaved
        floors.append(_floor(refs_file, ann_file))
        seconds = _floor_orjson(refs_file, ann_file)
        if seconds is not None:
            orjson_floors.append(seconds)
        del dataset
        seconds, dataset = _init(args.root, args.split)
        inits.append(seconds)
    floor = _median(floors)
    init = _median(inits)
    floor_orjson = _median(orjson_floors) if orjson_floors else None
    pickled = len(pickle.dumps(dataset, protocol=pickle.HIGHEST_PROTOCOL))
    result = dict(
        root=args.root, split=args.split, samples=len(dataset),
        init_s=init, floor_s=floor, ratio=init / floor,
        floor_orjson_s=floor_orjson,
        ratio_orjson=init / floor_orjson if floor_orjson else None,
        pickled_mib=pickled / 2**20,
        files_mib=(osp.getsize(refs_file) + osp.getsize(ann_file)) / 2**20,
        init_runs=inits, floor_runs=floors,
        floor_orjson_runs=orjson_floors)
    print(f'RefCOCODataset({args.split!r}) on {args.root}: '
          f'{len(dataset)} samples (median of {args.repeat})')
    orjson_cells = ([f'{floor_orjson:.2f}', f'{init / floor_orjson:.2f}x']
                    if floor_orjson else ['n/a (no orjson)', 'n/a'])
    print_table(
        ['init s', 'pickle+json floor s', 'ratio',
         'pickle+orjson floor (gc paused) s', 'ratio to it',
         'pickled dataset MiB', 'files MiB'],
        [[f'{init:.2f}', f'{floor:.2f}', f'{init / floor:.2f}x'] +
         orjson_cells +
         [f'{result["pickled_mib"]:.1f}', f'{result["files_mib"]:.1f}']])
    if args.json:
        write_json(args.json, result)
    return result


if __name__ == '__main__':
    main()
