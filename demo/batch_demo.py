"""Segment many (image, expression) pairs listed in a JSON file.

    python demo/batch_demo.py PAIRS.json CONFIG --weights CKPT \\
        --out-dir out/ [--batch-size 8] [--device cpu]

PAIRS.json is a list of ``{"image": "path.jpg", "text": "..."}`` (image paths
relative to the JSON file's folder unless absolute), or a JSON-lines file
with one such record per line. Writes ``out/vis/<name>.png`` (overlays),
``out/pred/<name>.png`` (0/255 masks) and ``out/results.json`` (per pair:
image, text, mask file, mask area), where ``<name>`` is the image stem (with
the pair's index when an image appears more than once). ``--cfg-options``
overrides config settings (e.g. ``model.backbone.spm_path=beit3.spm``).
"""
import argparse
import json
import os.path as osp

from mmengine.config import DictAction

import mmris  # noqa: F401
from mmris.apis import RISInferencer


def load_pairs(path: str) -> list:
    """Read and check the (image, text) records."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    try:
        records = json.loads(text)
    except json.JSONDecodeError:
        records = [json.loads(line) for line in text.splitlines()
                   if line.strip()]
    if not isinstance(records, list) or not records:
        raise ValueError(f'{path}: expected a non-empty list of '
                         '{"image": ..., "text": ...} records')
    root = osp.dirname(osp.abspath(path))
    pairs = []
    for i, record in enumerate(records):
        if not isinstance(record, dict) or 'image' not in record or \
                'text' not in record:
            raise ValueError(f'{path}: record {i} must have "image" and '
                             f'"text", got {record!r}')
        image = record['image']
        image = image if osp.isabs(image) else osp.join(root, image)
        if not osp.isfile(image):
            raise FileNotFoundError(f'{path}: record {i}: no image {image}')
        pairs.append((image, record['text']))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('pairs', help='JSON / JSON-lines of image + text')
    parser.add_argument('config', help='config file or name under configs/')
    parser.add_argument('--weights', help='checkpoint file')
    parser.add_argument('--out-dir', default='demo_out')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--device', default=None)
    parser.add_argument('--non-strict', action='store_true')
    parser.add_argument(
        '--no-vis', action='store_true', help='write masks only')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value')
    args = parser.parse_args()

    pairs = load_pairs(args.pairs)
    inferencer = RISInferencer(
        args.config, weights=args.weights, device=args.device,
        strict=not args.non_strict, cfg_options=args.cfg_options)
    result = inferencer([p[0] for p in pairs],
                        texts=[p[1] for p in pairs],
                        batch_size=args.batch_size,
                        out_dir=args.out_dir,
                        draw=not args.no_vis)
    records = [
        dict(image=image, text=text,
             mask=osp.join(args.out_dir, 'pred', f'{pred["name"]}.png'),
             area=int(pred['mask'].sum()))
        for (image, text), pred in zip(pairs, result['predictions'])
    ]
    out = osp.join(args.out_dir, 'results.json')
    with open(out, 'w', encoding='utf-8') as f:
        json.dump(records, f, ensure_ascii=False, indent=1)
    print(f'{len(records)} pairs; results in {osp.abspath(out)}')


if __name__ == '__main__':
    main()
