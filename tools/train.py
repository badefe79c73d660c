"""Train a referring segmentor: ``python tools/train.py CONFIG [options]``.

The arguments are MMSegmentation's. Distributed training goes through
``tools/dist_train.sh CONFIG GPUS`` (torchrun, ``--launcher pytorch``); on a
machine without a GPU the same command trains with the gloo backend.
A config with a ``strategy`` (the FSDP configs, ``configs/*/fsdp/``) trains
through MMEngine's ``FlexibleRunner`` (docs/speed.md).
"""
import argparse
import logging
import os.path as osp

import mmris  # noqa: F401  (compatibility fixes before mmseg is imported)
from mmengine.logging import print_log

from mmris.models.utils import log_truncation_summary

from mmris.utils import (add_common_args, build_runner, load_tool_config,
                         register_all_modules, setup_cpu_distributed,
                         shutdown_distributed, warn_if_nothing_to_resume)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a referring segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        const='auto',
        default=None,
        help='resume from CHECKPOINT, or, without a value, from the latest '
        'checkpoint in the work dir')
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='enable automatic mixed precision training')
    add_common_args(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=False)

    cfg = load_tool_config(args)

    if args.amp:
        # AutoAmpOptimWrapper: AMP where an accelerator is present, float32
        # (with a warning) on a machine without one.
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper in ('AmpOptimWrapper', 'AutoAmpOptimWrapper'):
            print_log('AMP is already enabled in the config.',
                      logger='current', level=logging.WARNING)
        else:
            if optim_wrapper != 'OptimWrapper':
                raise ValueError('--amp needs an OptimWrapper, got '
                                 f'{optim_wrapper}')
            cfg.optim_wrapper.type = 'AutoAmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')

    if args.resume == 'auto':
        cfg.resume = True
        load_from, cfg.load_from = cfg.get('load_from'), None
        if not warn_if_nothing_to_resume(cfg):
            cfg.load_from = load_from  # a fresh run starts as configured
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    setup_cpu_distributed(cfg, args.launcher)

    runner = build_runner(cfg)
    runner.train()
    log_truncation_summary()
    print_log(f'Logs and checkpoints are in {osp.abspath(cfg.work_dir)}',
              logger='current')
    shutdown_distributed()


if __name__ == '__main__':
    main()
