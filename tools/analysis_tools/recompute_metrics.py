"""Score the per-sample results of a finished or interrupted evaluation.

``tools/test.py`` writes one JSON line per sample as it evaluates
(``--out DIR`` or ``WORK_DIR/<timestamp>/per_sample``); this tool computes
oIoU, mIoU and Prec@X from them, e.g. after an evaluation stopped at a bad
image::

    python tools/analysis_tools/recompute_metrics.py work_dirs/x/<ts>/per_sample
"""
import argparse
import json

import mmris  # noqa: F401
from mmris.evaluation import metrics_from_records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir', help='tools/test.py --out folder')
    parser.add_argument('--empty-iou', type=float, default=1.0)
    parser.add_argument(
        '--thresholds',
        type=float,
        nargs='+',
        default=[0.5, 0.6, 0.7, 0.8, 0.9])
    parser.add_argument('--json', help='also write the metrics here')
    args = parser.parse_args()
    metrics, count = metrics_from_records(args.out_dir, args.thresholds,
                                          args.empty_iou)
    print(f'{count} samples in {args.out_dir}')
    for key, value in metrics.items():
        print(f'{key}: {value:.2f}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(metrics, num_samples=count), f, indent=1)


if __name__ == '__main__':
    main()
