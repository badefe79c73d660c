"""Host time of one optimizer step: grouped vs per-tensor parameter groups.

    python tools/analysis_tools/benchmark_optimizer.py \\
        configs/cris/cris_r50_8xb8-50e_refcoco-416x416.py \\
        [--device tiny|cpu|cuda] [--repeat 5] [--number 10] [--json OUT]

Builds the config's model and its optimizer twice, once with the config's
``GroupedOptimWrapperConstructor`` (a handful of groups) and once with
MMEngine's ``DefaultOptimWrapperConstructor`` (one group per tensor, the
same settings), gives every trainable parameter a gradient and times
``optimizer.step()``. With ``--device tiny`` (the default) every parameter
is replaced by a one-element tensor of the same rank on the CPU and the
optimizer runs its multi-tensor (``foreach``) path, as it does on a GPU:
the time is what the step costs the host (Python, the dispatcher and
per-group bookkeeping) and hardly anything else, the part a GPU cannot
hide. ``cpu`` / ``cuda`` time the real step on real tensors.
"""
import argparse
import copy
import logging
from typing import List, Optional

import torch
from mmengine.config import Config, DictAction
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from mmris.registry import MODELS
from mmris.utils.benchmark_report import median_time, print_table, write_json


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--device', default='tiny', choices=['tiny', 'cpu', 'cuda'],
        help='tiny: host time only (default); cpu / cuda: real tensors')
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--number', type=int, default=10,
                        help='steps per timed run')
    parser.add_argument('--json', help='also write the result here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def _step_time(model: torch.nn.Module, optim_cfg: dict, repeat: int,
               number: int) -> dict:
    optimizer = build_optim_wrapper(model, copy.deepcopy(optim_cfg)).optimizer
    optimizer.step()  # creates the state
    sync = torch.cuda.synchronize if next(model.parameters()).is_cuda \
        else (lambda: None)

    def step():
        optimizer.step()
        sync()

    seconds = median_time(step, repeat, number)
    return dict(groups=len(optimizer.param_groups),
                tensors=sum(len(g['params'])
                            for g in optimizer.param_groups),
                ms_per_step=1000 * seconds)


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    init_default_scope('mmris')
    MMLogger.get_current_instance().setLevel(logging.ERROR)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.model.backbone.pop('pretrained', None)
    model = MODELS.build(cfg.model)
    if args.device == 'tiny':
        for param in model.parameters():
            param.data = param.data.new_zeros((1, ) * param.ndim)
    else:
        model.to(args.device)
    for param in model.parameters():
        if param.requires_grad:
            param.grad = torch.zeros_like(param)
    optim_cfg = cfg.optim_wrapper.to_dict()
    optim_cfg['type'] = 'OptimWrapper'  # the step itself, no AMP scaler
    for key in ('loss_scale', 'dtype'):
        optim_cfg.pop(key, None)
    if args.device == 'tiny':
        optim_cfg['optimizer']['foreach'] = True  # a GPU's default path
    per_tensor_cfg = dict(optim_cfg)
    per_tensor_cfg.pop('constructor', None)
    grouped_cfg = dict(optim_cfg,
                       constructor='GroupedOptimWrapperConstructor')
    per_tensor = _step_time(model, per_tensor_cfg, args.repeat, args.number)
    grouped = _step_time(model, grouped_cfg, args.repeat, args.number)
    result = dict(
        config=args.config,
        device=args.device,
        optimizer=optim_cfg['optimizer']['type'],
        per_tensor=per_tensor,
        grouped=grouped,
        speedup=per_tensor['ms_per_step'] / grouped['ms_per_step'])
    print(f'{args.config}: one {result["optimizer"]} step on '
          f'{args.device} (median of {args.repeat} x {args.number})')
    print_table(['constructor', 'groups', 'tensors', 'ms/step'], [
        ['per-tensor (Default)', per_tensor['groups'],
         per_tensor['tensors'], f'{per_tensor["ms_per_step"]:.2f}'],
        ['grouped', grouped['groups'], grouped['tensors'],
         f'{grouped["ms_per_step"]:.2f}'],
    ])
    print(f'speed-up: {result["speedup"]:.1f}x')
    if args.json:
        write_json(args.json, result)
    return result


if __name__ == '__main__':
    main()
