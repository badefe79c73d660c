"""Segment the object an expression refers to in one image.

    python demo/image_demo.py IMG "the red circle" CONFIG --weights CKPT \\
        --out-file out.png [--mask-file mask.png] [--device cpu]

CONFIG is a config file or a config name under ``configs/`` (e.g.
``cris_tiny_synthetic``). The overlay (prediction contour and light fill,
expression in a band under the image) goes to ``--out-file``; ``--mask-file``
writes the 0/255 mask. The checkpoint is loaded strictly (``--non-strict``
loads the matching weights of another model anyway). ``--cfg-options``
overrides config settings, e.g. ``model.backbone.spm_path=beit3.spm`` for
the BEiT-3 (Shared-RIS) tokenizer.
"""
import argparse
import os.path as osp

import mmcv

from mmengine.config import DictAction

import mmris  # noqa: F401
from mmris.apis import RISInferencer


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('img', help='image file')
    parser.add_argument('text', help='referring expression')
    parser.add_argument('config', help='config file or name under configs/')
    parser.add_argument('--weights', help='checkpoint file')
    parser.add_argument(
        '--out-file', default='demo_out.png', help='overlay file to write')
    parser.add_argument('--mask-file', help='also write the 0/255 mask here')
    parser.add_argument('--device', default=None, help='cpu, cuda, cuda:1 ...')
    parser.add_argument(
        '--non-strict',
        action='store_true',
        help='load weights that do not all fit the model')
    parser.add_argument('--show', action='store_true', help='show a window')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value (e.g. '
        'model.backbone.spm_path=beit3.spm)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if not osp.isfile(args.img):
        raise FileNotFoundError(f'image file not found: {args.img}')
    inferencer = RISInferencer(
        args.config,
        weights=args.weights,
        device=args.device,
        strict=not args.non_strict,
        show_progress=False,
        cfg_options=args.cfg_options)
    result = inferencer(args.img, texts=args.text, show=args.show)
    mmcv.imwrite(result['visualization'][0], args.out_file)
    mask = result['predictions'][0]['mask']
    print(f'"{args.text}": {int(mask.sum())} of {mask.size} pixels; '
          f'overlay written to {osp.abspath(args.out_file)}')
    if args.mask_file:
        mmcv.imwrite(mask * 255, args.mask_file)
        print(f'mask written to {osp.abspath(args.mask_file)}')


if __name__ == '__main__':
    main()
