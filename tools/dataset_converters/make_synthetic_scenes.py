"""Write the synthetic referring scenes of the quick start (REFER format).

``python tools/dataset_converters/make_synthetic_scenes.py data/synthetic``

Coloured circles, squares and triangles on a 3x3 grid, 2-4 per image, with
expressions that need colour, shape and position words ("the red circle",
"the square on the left", "the blue triangle at the top"); see
:mod:`mmris.datasets.synthetic_scenes`. The output reads with
``RefCOCODataset(data_root=ROOT, dataset='refcoco', split='train'|'val')``.
"""
import argparse
import time

from mmris.datasets.synthetic_scenes import make_synthetic_scenes


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Generate synthetic referring scenes (REFER format)')
    parser.add_argument('root', help='output data root')
    parser.add_argument('--num-train', type=int, default=1000,
                        help='training images')
    parser.add_argument('--num-val', type=int, default=100,
                        help='validation images')
    parser.add_argument('--image-size', type=int, default=96,
                        help='side of the square images')
    parser.add_argument('--sentences-per-ref', type=int, default=2)
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    start = time.time()
    summary = make_synthetic_scenes(
        args.root,
        num_train=args.num_train,
        num_val=args.num_val,
        image_size=args.image_size,
        seed=args.seed,
        sentences_per_ref=args.sentences_per_ref)
    for split in ('train', 'val'):
        s = summary[split]
        print(f'{split}: {s["num_images"]} images, {s["num_refs"]} refs, '
              f'{s["num_sentences"]} expressions')
    print(f'wrote {summary["ann_file"]} and {summary["refs_file"]} '
          f'in {time.time() - start:.1f} s')


if __name__ == '__main__':
    main()
