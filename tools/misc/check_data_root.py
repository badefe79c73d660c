"""Check a REFER data root before a long run.

Example::

    python tools/misc/check_data_root.py --data-root data/
    python tools/misc/check_data_root.py --data-root data/ \\
        --datasets refcoco refcocog:umd --splits val testA

For every dataset (and each of its split_bys, or the one named as
``dataset:split_by``) it checks that ``instances.json`` and the refs pickle
exist and load, that every ref's image and annotation are in
``instances.json``, that every referenced image is on disk and decodes
completely (zero-byte, truncated or corrupt files, and files whose size
differs from ``instances.json``, are problems; ``--no-decode`` reads headers
only), and that no referred mask is empty or outside its image. It prints
the number of refs, sentences and images per split, lists the problems (the
first few files by name), and exits with 1 when there is any problem, 0
otherwise.

Without ``--datasets``, the datasets whose folder exists under the data root
are checked. Without ``--splits``, every split present is checked and a
standard split without refs is only noted (e.g. the quick start's synthetic
scenes have train and val only); a split named in ``--splits`` must have
refs.
"""
import argparse
import os.path as osp
import sys
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

import mmris  # noqa: F401  (must precede any mmseg import)
from mmris.datasets.data_checks import check_image_file, mask_problem
from mmris.datasets.refcoco import DEFAULT_SPLIT_BY, REFER_SPLITS
from mmris.datasets.refer_loader import load_instances, load_refs_pickle

_HEADER = ('dataset', 'split_by', 'split', 'refs', 'sentences', 'images',
           'empty sents')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Check a REFER data root (files, images, counts).')
    parser.add_argument(
        '--data-root', required=True, help='root of the REFER layout')
    parser.add_argument(
        '--datasets',
        nargs='+',
        default=None,
        help='datasets to check (default: those present under --data-root); '
        '"refcocog" checks every split_by, "refcocog:umd" only one')
    parser.add_argument(
        '--splits',
        nargs='+',
        default=None,
        help='splits to check (default: every split present), e.g. val testA')
    parser.add_argument(
        '--no-decode',
        action='store_true',
        help='read image headers only (faster; misses truncated files)')
    parser.add_argument(
        '--img-prefix',
        default='coco/train2014',
        help='image folder relative to --data-root (data_prefix.img_path)')
    parser.add_argument(
        '--max-missing',
        type=int,
        default=5,
        help='how many missing images to name per dataset')
    return parser.parse_args(argv)


def expand_datasets(specs: Sequence[str]) -> List[Tuple[str, str]]:
    """Turn ``refcocog`` / ``refcocog:umd`` into ``(dataset, split_by)``."""
    pairs = []
    for spec in specs:
        dataset, _, split_by = spec.partition(':')
        if dataset not in DEFAULT_SPLIT_BY:
            raise SystemExit(f'unknown dataset {dataset!r}; choose from '
                             f'{sorted(DEFAULT_SPLIT_BY)}')
        known = [sb for (d, sb) in REFER_SPLITS if d == dataset]
        if split_by and split_by not in known:
            raise SystemExit(f'unknown split_by {split_by!r} for {dataset}; '
                             f'choose from {known}')
        pairs += [(dataset, sb) for sb in ([split_by] if split_by else known)]
    return pairs


def check_one(data_root: str, dataset: str, split_by: str, img_dir: str,
              max_missing: int, image_exists: Dict[str, Optional[str]],
              splits: Optional[Sequence[str]] = None,
              decode: bool = True) -> Tuple[List[tuple], List[str]]:
    """Check one ``(dataset, split_by)``.

    Args:
        data_root (str): Root of the layout.
        dataset (str): Dataset name.
        split_by (str): Split name (``unc``, ``umd``, ``google``).
        img_dir (str): Image folder.
        max_missing (int): Missing images named in the report.
        image_exists (dict): Cache of ``path -> problem or None`` shared by
            datasets.
        splits (Sequence[str], optional): Only these splits (each must have
            refs); None checks every split present.
        decode (bool): Fully decode every image. Defaults to True.

    Returns:
        tuple[list[tuple], list[str]]: Table rows and problems.
    """
    tag = f'{dataset} ({split_by})'
    ann_file = osp.join(data_root, dataset, 'instances.json')
    refs_file = osp.join(data_root, dataset, f'refs({split_by}).p')
    problems = []
    try:
        coco = load_instances(ann_file, None)
        refs = load_refs_pickle(refs_file, None)
    except (OSError, ValueError, KeyError, TypeError) as e:
        return [], [f'{tag}: {e}']
    images, annotations = coco['images'], coco['annotations']

    valid_splits = REFER_SPLITS[(dataset, split_by)]
    if splits is not None:
        refs = [r for r in refs if r['split'] in splits]
    counts = defaultdict(lambda: dict(refs=0, sents=0, images=set(), empty=0))
    missing_images, missing_anns, unknown_splits = set(), set(), set()
    for ref in refs:
        stats = counts[ref['split']]
        if ref['split'] not in valid_splits:
            unknown_splits.add(ref['split'])
        stats['refs'] += 1
        for sent in ref.get('sentences') or []:
            if (sent.get('sent') or '').strip():
                stats['sents'] += 1
            else:
                stats['empty'] += 1
        stats['images'].add(ref['image_id'])
        if ref['image_id'] not in images:
            missing_images.add(ref['image_id'])
        if ref['ann_id'] not in annotations:
            missing_anns.add(ref['ann_id'])

    if missing_images:
        problems.append(f'{tag}: {len(missing_images)} image ids used by '
                        f'refs are not in {ann_file}, e.g. '
                        f'{sorted(missing_images)[:max_missing]}')
    if missing_anns:
        problems.append(f'{tag}: {len(missing_anns)} ann ids used by refs are '
                        f'not in {ann_file}, e.g. '
                        f'{sorted(missing_anns)[:max_missing]}')
    if unknown_splits:
        problems.append(f'{tag}: refs have unexpected splits '
                        f'{sorted(unknown_splits)}; expected '
                        f'{list(valid_splits)}')
    wanted = list(splits) if splits is not None else list(valid_splits)
    for split in wanted:
        if counts[split]['refs'] == 0 and splits is not None:
            problems.append(f'{tag}: split {split!r} has no refs')
        elif counts[split]['refs'] == 0:
            print(f'note: {tag}: split {split!r} has no refs (not checked)')

    bad: Dict[str, List[str]] = defaultdict(list)
    used = {r['image_id'] for r in refs} - missing_images
    for image_id in sorted(used):
        image = images[image_id]
        path = osp.join(img_dir, image['file_name'])
        if path not in image_exists:
            hw = (int(image['height']), int(image['width'])) \
                if 'height' in image and 'width' in image else None
            image_exists[path] = check_image_file(path, hw, decode=decode)
        problem = image_exists[path]
        if problem is not None:
            kind = problem.split(' (')[0] if problem.startswith(
                'cannot') else problem.split(' but ')[0] \
                if problem.startswith('is ') else problem
            bad[kind].append(f'{osp.basename(path)}'
                             + ('' if kind == problem else f' ({problem})'))
    for kind, names in bad.items():
        label = {'missing': f'missing from {img_dir}'}.get(kind, kind)
        problems.append(f'{tag}: {len(names)} of {len(used)} images '
                        f'{label}, e.g. {names[:max_missing]}')

    masks: Dict[str, List[int]] = defaultdict(list)
    for ref in refs:
        ann = annotations.get(ref['ann_id'])
        image = images.get(ref['image_id'])
        if ann is None or image is None:
            continue
        problem = mask_problem(
            dict(segmentation=ann.get('segmentation', []),
                 height=image['height'], width=image['width']))
        if problem is not None:
            masks[problem].append(ref['ref_id'])
    for problem, ref_ids in masks.items():
        problems.append(f'{tag}: {len(ref_ids)} refs have a mask that is '
                        f'{problem}, e.g. ref_ids {ref_ids[:max_missing]}')

    rows = []
    for split in wanted + sorted(unknown_splits - set(wanted)):
        stats = counts[split]
        rows.append((dataset, split_by, split, stats['refs'], stats['sents'],
                     len(stats['images']), stats['empty']))
    return rows, problems


def format_table(rows: Sequence[tuple]) -> str:
    """Left-aligned text table with a header row."""
    cells = [_HEADER] + [tuple(str(c) for c in row) for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(_HEADER))]
    lines = [
        '  '.join(c.ljust(w) for c, w in zip(row, widths)).rstrip()
        for row in cells
    ]
    lines.insert(1, '  '.join('-' * w for w in widths))
    return '\n'.join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the checks; return the process exit code.

    Args:
        argv (Sequence[str], optional): Command-line arguments. Defaults to
            ``sys.argv[1:]``.

    Returns:
        int: 0 when the data root is usable, 1 otherwise.
    """
    args = parse_args(argv)
    img_dir = osp.join(args.data_root, args.img_prefix)
    rows, problems = [], []
    if not osp.isdir(args.data_root):
        problems.append(f'data root {args.data_root!r} is not a folder')
    elif not osp.isdir(img_dir):
        problems.append(f'image folder {img_dir!r} not found (--img-prefix)')
    datasets = args.datasets
    if not problems and datasets is None:
        datasets = [d for d in ('refcoco', 'refcoco+', 'refcocog')
                    if osp.isdir(osp.join(args.data_root, d))]
        if not datasets:
            problems.append(f'no refcoco, refcoco+ or refcocog folder under '
                            f'{args.data_root!r}')
    if not problems:
        image_exists: Dict[str, Optional[str]] = {}
        for dataset, split_by in expand_datasets(datasets):
            new_rows, new_problems = check_one(
                args.data_root, dataset, split_by, img_dir, args.max_missing,
                image_exists, args.splits, not args.no_decode)
            rows += new_rows
            problems += new_problems
    if rows:
        print(format_table(rows))
    if problems:
        print(f'\n{len(problems)} problem(s):')
        for problem in problems:
            print(f'  - {problem}')
        return 1
    print(f'\nOK: {args.data_root} is ready.')
    return 0


if __name__ == '__main__':
    sys.exit(main())
