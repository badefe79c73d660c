"""Measure the inference throughput of any mmris model.

    python tools/analysis_tools/benchmark.py CONFIG [--checkpoint CKPT] \\
        [--batch-size 8] [--warmup 5] [--iters 20] [--device cuda|cpu] \\
        [--shape H W] [--input-size H W] [--repeat 1] [--cfg-options ...]

Times ``model.test_step`` (data preprocessor, backbone, neck, head, mask
post-processing to the original size) on batches of random images of the
configured input size put through the config's test pipeline (the pipeline
itself is not timed) with one expression each. The first ``--warmup``
batches are not timed. Prints images/s and ms per image (mean and spread
over ``--repeat`` runs); on a GPU every batch is synchronised. ``--shape``
is the size of the random images (default: the input size);
``--input-size`` builds the model for another network input size (same
widths and depths, see :func:`mmris.utils.analysis_utils.set_input_size`).
BEiT-3 configs need their sentencepiece model (``--cfg-options
model.backbone.spm_path=...``).
"""
import argparse
import json
import time

import mmris  # noqa: F401
import numpy as np
import torch
from mmengine.config import DictAction
from mmengine.dataset import pseudo_collate

from mmris.apis import init_model
from mmris.apis.inference import build_test_pipeline
from mmris.utils.analysis_utils import config_input_size, load_config


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file or name under configs/')
    parser.add_argument('--checkpoint', help='weights (optional)')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--iters', type=int, default=20)
    parser.add_argument('--repeat', type=int, default=1)
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        help='size of the random images (default: the '
                        'input size)')
    parser.add_argument('--input-size', type=int, nargs=2,
                        metavar=('H', 'W'),
                        help='network input size (default: the config\'s)')
    parser.add_argument('--text', default='the man on the left in a red shirt')
    parser.add_argument('--json', help='also write the result here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    for name in ('batch_size', 'iters', 'repeat'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1')
    if args.warmup < 0:
        parser.error('--warmup must be >= 0')
    return args


def run_once(model, batch, args) -> float:
    """Seconds per image over ``args.iters`` timed batches."""
    sync = torch.cuda.synchronize if args.device.startswith('cuda') \
        else (lambda: None)
    with torch.no_grad():
        for _ in range(args.warmup):
            model.test_step(batch)
        sync()
        start = time.perf_counter()
        for _ in range(args.iters):
            model.test_step(batch)
            sync()
        elapsed = time.perf_counter() - start
    return elapsed / (args.iters * args.batch_size)


def main() -> None:
    args = parse_args()
    model = init_model(load_config(args.config, args.cfg_options,
                                   args.input_size),
                       args.checkpoint, device=args.device)
    pipeline = build_test_pipeline(model.cfg, from_array=True)
    height, width = args.shape or config_input_size(model.cfg)
    rng = np.random.default_rng(0)
    batch = pseudo_collate([
        pipeline(dict(img=rng.integers(0, 256, (height, width, 3),
                                       dtype=np.uint8),
                      text=args.text, ref_id=i, sent_id=i))
        for i in range(args.batch_size)
    ])
    times = [run_once(model, batch, args) for _ in range(args.repeat)]
    per_image = np.asarray(times)
    fps = 1.0 / per_image
    print(f'config: {args.config}; device: {args.device}; batch size '
          f'{args.batch_size}; image {height}x{width}; {args.warmup} '
          f'warm-up + {args.iters} timed batches x {args.repeat} run(s)')
    print(f'throughput: {fps.mean():.2f} images/s '
          f'(std {fps.std():.2f}); {1000 * per_image.mean():.2f} ms/image')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(images_per_s=float(fps.mean()),
                           ms_per_image=float(1000 * per_image.mean()),
                           runs=[float(v) for v in fps],
                           batch_size=args.batch_size, device=args.device,
                           image_shape=[height, width],
                           input_shape=list(batch['inputs'][0].shape)),
                      f, indent=1)


if __name__ == '__main__':
    main()
