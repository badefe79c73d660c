"""Time of ``RefSegMetric.process`` per sample against the boolean floor.

    python tools/analysis_tools/benchmark_metric.py [--height 480] \\
        [--width 640] [--num-samples 64] [--batch-size 8] \\
        [--device cpu|cuda] [--repeat 5] [--json OUT]

Samples are random blobs at the original image resolution in the dtypes
mmris produces (``pred_sem_seg`` bool from ``RefSegmentor``, ``gt_sem_seg``
uint8 from ``PackRefSegInputs``) and, for comparison, in mmseg's int64. The floor is numpy's boolean intersection and union of the same
masks already binarised (``count_nonzero(p & g)``, ``count_nonzero(p |
g)``). Printed: ms per sample, the floor and the ratio (medians of
``--repeat`` runs, interleaved in one process).
"""
import argparse
from typing import List, Optional

import mmris  # noqa: F401  (must precede mmseg imports)
import numpy as np
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmris.evaluation import RefSegMetric
from mmris.utils.benchmark_report import median_time, print_table, write_json


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--height', type=int, default=480)
    parser.add_argument('--width', type=int, default=640)
    parser.add_argument('--num-samples', type=int, default=64)
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu',
        help='where the predictions are')
    parser.add_argument('--json', help='also write the result here')
    args = parser.parse_args(argv)
    for name in ('height', 'width', 'num_samples', 'batch_size', 'repeat'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1')
    return args


def _blobs(rng: np.random.Generator, n: int, height: int,
           width: int) -> np.ndarray:
    """(n, H, W) bool ellipses covering 5-40 % of the image."""
    yy, xx = np.mgrid[:height, :width]
    masks = np.empty((n, height, width), dtype=bool)
    for k in range(n):
        cy, cx = rng.uniform(0.2, 0.8) * height, rng.uniform(0.2, 0.8) * width
        ry, rx = rng.uniform(0.1, 0.35) * height, rng.uniform(0.1, 0.35) * width
        masks[k] = ((yy - cy) / ry)**2 + ((xx - cx) / rx)**2 <= 1
    return masks


def _samples(pred: np.ndarray, gt: np.ndarray, pred_dtype, gt_dtype,
             device: str) -> List[SegDataSample]:
    samples = []
    for k in range(len(pred)):
        sample = SegDataSample(metainfo=dict(ref_id=k, sent_id=k))
        sample.pred_sem_seg = PixelData(data=torch.from_numpy(pred[k]).to(
            device=device, dtype=pred_dtype)[None])
        # the ground truth stays on the CPU, as the dataloader leaves it
        sample.gt_sem_seg = PixelData(
            data=torch.from_numpy(gt[k]).to(gt_dtype)[None])
        samples.append(sample)
    return samples


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    rng = np.random.default_rng(0)
    n, h, w = args.num_samples, args.height, args.width
    pred, gt = _blobs(rng, n, h, w), _blobs(rng, n, h, w)
    sync = torch.cuda.synchronize if args.device.startswith('cuda') \
        else (lambda: None)
    variants = {
        'bool pred / uint8 gt (mmris)':
        _samples(pred, gt, torch.bool, torch.uint8, args.device),
        'int64 pred / int64 gt (mmseg dtypes)':
        _samples(pred, gt, torch.int64, torch.int64, args.device),
    }
    batches = {
        name: [s[i:i + args.batch_size] for i in range(0, n, args.batch_size)]
        for name, s in variants.items()
    }

    def floor():
        for k in range(n):
            np.count_nonzero(pred[k] & gt[k])
            np.count_nonzero(pred[k] | gt[k])

    def run(name):
        metric = RefSegMetric()
        sync()
        for batch in batches[name]:
            metric.process({}, batch)
        return metric

    # the same counts as numpy's
    want = [(int(np.count_nonzero(pred[k] & gt[k])),
             int(np.count_nonzero(pred[k] | gt[k]))) for k in range(n)]
    for name in variants:
        got = [(i, u) for _, i, u in run(name).results]
        if got != want:
            raise RuntimeError(f'{name}: counts differ from numpy')
    times = {name: [] for name in ['floor', *variants]}
    for _ in range(args.repeat):  # interleaved
        times['floor'].append(median_time(floor, 1) / n)
        for name in variants:
            times[name].append(median_time(lambda: run(name), 1) / n)
    med = {k: 1000 * sorted(v)[len(v) // 2] for k, v in times.items()}
    rows = []
    result = dict(height=h, width=w, num_samples=n,
                  batch_size=args.batch_size, device=args.device,
                  floor_ms=med['floor'], variants={})
    for name in variants:
        ratio = med[name] / med['floor']
        rows.append([name, f'{med[name]:.4f}', f'{med["floor"]:.4f}',
                     f'{ratio:.2f}x'])
        result['variants'][name] = dict(ms_per_sample=med[name],
                                        ratio_to_floor=ratio)
    print(f'RefSegMetric.process, {h}x{w} masks, {n} samples in batches of '
          f'{args.batch_size}, predictions on {args.device} (median of '
          f'{args.repeat})')
    print_table(['inputs', 'ms/sample', 'floor ms', 'ratio'], rows)
    if args.json:
        write_json(args.json, result)
    return result


if __name__ == '__main__':
    main()
