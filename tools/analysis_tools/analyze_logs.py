"""Plot loss and metric curves of training runs to a PNG.

    python tools/analysis_tools/analyze_logs.py WORK_DIR_OR_JSON [...] \\
        [--keys loss mIoU] [--out curves.png] [--legend run1 run2]

Each argument is a ``scalars.json`` written by MMEngine's LocalVisBackend
(``WORK_DIR/<timestamp>/vis_data/scalars.json``), or a work dir / run dir in
which the newest one is used. Training keys (``loss``, ``loss_*``, ``lr``,
``grad_norm`` ...) are plotted against the iteration, validation keys
(``mIoU``, ``oIoU``, ``Prec@0.5`` or ``split/mIoU`` ...) against the step
they were logged at. Default keys: ``loss`` and every ``mIoU`` / ``oIoU``
present. Works with matplotlib's non-interactive backend (no display).
"""
import argparse
import glob
import json
import os.path as osp
from typing import Dict, List, Tuple

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402


def find_scalars(path: str) -> str:
    """The scalars.json of a file, run dir or work dir (newest run)."""
    if osp.isfile(path):
        return path
    found = sorted(
        glob.glob(osp.join(path, 'vis_data', 'scalars.json')) +
        glob.glob(osp.join(path, '*', 'vis_data', 'scalars.json')))
    if not found:
        raise FileNotFoundError(f'no vis_data/scalars.json in {path}')
    return found[-1]


def load_scalars(path: str) -> Dict[str, List[Tuple[float, float]]]:
    """key -> [(step, value)] from a scalars.json (JSON lines)."""
    series: Dict[str, List[Tuple[float, float]]] = {}
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            record = json.loads(line)
            step = record.get('step', record.get('iter', 0))
            for key, value in record.items():
                if key in ('step', 'iter', 'epoch') or \
                        not isinstance(value, (int, float)):
                    continue
                series.setdefault(key, []).append((step, float(value)))
    return series


def default_keys(series: Dict[str, list]) -> List[str]:
    keys = [k for k in series if k == 'loss']
    keys += [k for k in series if k.split('/')[-1] in ('mIoU', 'oIoU')]
    return keys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('logs', nargs='+', help='scalars.json or work dirs')
    parser.add_argument('--keys', nargs='+', help='scalars to plot')
    parser.add_argument('--legend', nargs='+', help='one name per log')
    parser.add_argument('--title', default=None)
    parser.add_argument('--out', default='curves.png')
    args = parser.parse_args()
    if args.legend and len(args.legend) != len(args.logs):
        parser.error('--legend needs one name per log')

    runs = [(args.legend[i] if args.legend else osp.basename(
        osp.dirname(osp.dirname(find_scalars(p)))) or p,
             load_scalars(find_scalars(p))) for i, p in enumerate(args.logs)]
    keys = args.keys or sorted({k for _, s in runs for k in default_keys(s)})
    if not keys:
        raise SystemExit('no loss or mIoU / oIoU in the logs; name --keys')
    missing = [k for k in keys if not any(k in s for _, s in runs)]
    if missing:
        known = sorted({k for _, s in runs for k in s})
        raise SystemExit(f'keys {missing} are in none of the logs; known '
                         f'keys: {known}')
    fig, axes = plt.subplots(
        len(keys), 1, figsize=(7, 3 * len(keys)), squeeze=False)
    for ax, key in zip(axes[:, 0], keys):
        for name, series in runs:
            if key in series:
                steps, values = zip(*series[key])
                ax.plot(steps, values, marker='.' if len(steps) < 50 else '',
                        label=name)
        ax.set_ylabel(key)
        ax.set_xlabel('iteration' if not key.split('/')[-1].startswith(
            ('mIoU', 'oIoU', 'Prec')) else 'step (epoch of validation)')
        ax.grid(alpha=0.3)
        ax.legend(fontsize='small')
    if args.title:
        fig.suptitle(args.title)
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f'{len(keys)} curve(s) of {len(runs)} run(s) written to '
          f'{osp.abspath(args.out)}')


if __name__ == '__main__':
    main()
