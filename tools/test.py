"""Evaluate a referring segmentor: ``python tools/test.py CONFIG CHECKPOINT``.

``--out DIR`` writes every sample's predicted mask as
``DIR/<split>/<ref_id>_<sent_id>.png`` (plus per-sample IoUs) and
``--show-dir DIR`` writes overlays of prediction, ground truth and expression
(every sample; ``--max-show N`` limits them). Several splits are evaluated in
one run when the config's test dataset is a ``ConcatDataset`` of them; each
is reported under its own name.

The checkpoint is loaded strictly: a checkpoint of another model stops the
run with the lists of missing, unexpected and mis-shaped keys
(``--non-strict`` loads the matching weights anyway). Per-sample scores are
written as the evaluation goes (``--out`` or
``WORK_DIR/<timestamp>/per_sample``), so an
evaluation that stops early (a bad image, a kill) keeps its finished samples:
``python tools/analysis_tools/recompute_metrics.py DIR`` scores them.
"""
import argparse
import logging
import os.path as osp

import mmris  # noqa: F401  (compatibility fixes before mmseg is imported)
from mmengine.config import Config
from mmengine.logging import print_log

from mmris.models.utils import log_truncation_summary

from mmris.utils import (add_common_args, build_runner, load_tool_config,
                         load_weights_strictly, register_all_modules,
                         setup_cpu_distributed, shutdown_distributed)


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
        '--max-show',
        type=int,
        default=None,
        help='draw at most this many overlays (default: every sample)')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument(
        '--non-strict',
        action='store_true',
        help='load a checkpoint whose keys or shapes do not all match the '
        'model (the mismatches are logged as a warning)')
    add_common_args(parser)
    return parser.parse_args()


def enable_visualization(cfg: Config, args: argparse.Namespace) -> None:
    """Turn on the overlay hook for ``--show`` / ``--show-dir``."""
    hooks = cfg.setdefault('default_hooks', {})
    vis = dict(hooks.get('visualization') or {})
    vis.setdefault('type', 'RefSegVisualizationHook')
    vis['draw'] = True
    vis['max_samples'] = args.max_show
    if args.show:
        vis['show'] = True
        vis['wait_time'] = args.wait_time
    if args.show_dir:
        vis['show_dir'] = osp.abspath(args.show_dir)
    hooks['visualization'] = vis


def set_output_dir(evaluators, out_dir: str, save_masks: bool) -> None:
    """Make every ``RefSegMetric`` of an evaluator config write to out_dir."""
    if isinstance(evaluators, dict) and 'metrics' in evaluators:
        evaluators = evaluators['metrics']
    for evaluator in (evaluators
                      if isinstance(evaluators, list) else [evaluators]):
        if isinstance(evaluator, dict) and evaluator.get('type') in (
                'RefSegMetric', 'mmris.RefSegMetric'):
            evaluator['output_dir'] = out_dir
            evaluator['save_masks'] = save_masks


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
        out_dir = osp.abspath(args.out)
        set_output_dir(cfg.test_evaluator, out_dir, save_masks=True)

    setup_cpu_distributed(cfg, args.launcher)

    runner = build_runner(cfg)
    if args.out is None:
        # per-sample scores only, next to this run's log and metrics
        out_dir = osp.abspath(osp.join(runner.log_dir, 'per_sample'))
        set_output_dir(runner._test_evaluator, out_dir, save_masks=False)
    # check the weights against the model before any compute
    _check_weights(runner, args)
    try:
        runner.test()
    except BaseException:
        print_log(
            'Evaluation stopped early. The per-sample results finished so '
            f'far are in {out_dir} (results_rank*.jsonl); score them with\n'
            f'  python tools/analysis_tools/recompute_metrics.py {out_dir}',
            logger='current',
            level=logging.ERROR)
        raise
    log_truncation_summary()
    lines = [f'metrics and log: {osp.abspath(runner.log_dir)}',
             f'per-sample results: {osp.join(out_dir, "results.json")}']
    if args.out is not None:
        lines.append(f'masks: {out_dir}/<split>/<ref_id>_<sent_id>.png')
    if args.show_dir:
        lines.append(f'overlays: {osp.abspath(args.show_dir)}/<split>/')
    print_log('Outputs written:\n  ' + '\n  '.join(lines), logger='current')
    shutdown_distributed()


def _check_weights(runner, args: argparse.Namespace) -> None:
    """Stop on a checkpoint that does not fit the config's model."""
    from mmengine.runner.checkpoint import _load_checkpoint
    ckpt = _load_checkpoint(args.checkpoint, map_location='cpu')
    state_dict = ckpt.get('state_dict', ckpt) if isinstance(ckpt,
                                                            dict) else ckpt
    load_weights_strictly(
        runner.model,
        args.checkpoint,
        strict=not args.non_strict,
        state_dict=state_dict)


if __name__ == '__main__':
    main()
