"""Write a synthetic REFER data root with RefCOCO's real counts.

``python tools/dataset_converters/make_refcoco_size_root.py data/refcoco-size``

50,000 refs and 142,210 sentences on 19,994 images with 196,771 COCO
annotations, in ``ROOT/refcoco/{refs(unc).p, instances.json}`` (see
:mod:`mmris.testing.refcoco_size_root`); no image files. It reads with
``RefCOCODataset(data_root=ROOT, dataset='refcoco', split='train')`` and is
what ``tools/analysis_tools/benchmark_dataset.py`` times.
"""
import argparse
import os.path as osp
import time

from mmris.testing.refcoco_size_root import make_refcoco_size_root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('root', help='output data root')
    parser.add_argument('--scale', type=float, default=1.0,
                        help='fraction of the real counts')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    info = make_refcoco_size_root(args.root, args.scale, args.seed)
    mib = sum(osp.getsize(info[k]) for k in ('refs_file', 'ann_file')) / 2**20
    print(f'wrote {info["refs_file"]} and {info["ann_file"]} ({mib:.0f} MiB,'
          f' {info["num_images"]} images, {info["num_annotations"]} '
          f'annotations, splits {info["splits"]}) in '
          f'{time.perf_counter() - start:.0f} s')


if __name__ == '__main__':
    main()
