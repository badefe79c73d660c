"""Evaluate a referring segmentor: ``python tools/test.py CONFIG CHECKPOINT``.

``--out DIR`` writes every sample's predicted mask as
``DIR/<split>/<ref_id>_<sent_id>.png`` (plus per-sample IoUs) and
``--show-dir DIR`` writes overlays of prediction, ground truth and expression.
Several splits are evaluated in one run when the config's test dataset is a
``ConcatDataset`` of them; each is reported under its own name.
"""
import argparse
import os.path as osp

import mmris  # noqa: F401  (compatibility fixes before mmseg is imported)
from mmengine.config import Config

from mmris.utils import (add_common_args, build_runner, load_tool_config,
                         register_all_modules, setup_cpu_distributed)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Test (and evaluate) a referring segmentor')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir',
        help='the directory to save the file containing evaluation metrics')
    parser.add_argument(
        '--out', type=str, help='directory to save the predicted masks')
    parser.add_argument(
        '--show', action='store_true', help='show overlays in a window')
    parser.add_argument(
        '--show-dir', help='directory where overlay images are written')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
    add_common_args(parser)
    return parser.parse_args()


def enable_visualization(cfg: Config, args: argparse.Namespace) -> None:
    """Turn on the overlay hook for ``--show`` / ``--show-dir``."""
    hooks = cfg.setdefault('default_hooks', {})
    vis = dict(hooks.get('visualization') or {})
    vis.setdefault('type', 'RefSegVisualizationHook')
    vis['draw'] = True
    if args.show:
        vis['show'] = True
        vis['wait_time'] = args.wait_time
    if args.show_dir:
        vis['show_dir'] = osp.abspath(args.show_dir)
    hooks['visualization'] = vis


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=False)

    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint file not found: {args.checkpoint}')
    cfg = load_tool_config(args)
    cfg.load_from = args.checkpoint
    cfg.resume = False

    if args.show or args.show_dir:
        enable_visualization(cfg, args)
    if args.out is not None:
        evaluators = cfg.test_evaluator
        for evaluator in (evaluators if isinstance(evaluators, list) else
                          [evaluators]):
            evaluator['output_dir'] = osp.abspath(args.out)

    setup_cpu_distributed(cfg, args.launcher)

    runner = build_runner(cfg)
    runner.test()


if __name__ == '__main__':
    main()
