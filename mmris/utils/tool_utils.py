"""What ``tools/train.py`` and ``tools/test.py`` share."""
import argparse
import difflib
import inspect
import logging
import os
import os.path as osp
from typing import Iterable, Optional

from mmengine.config import Config, DictAction
from mmengine.logging import print_log

__all__ = [
    'add_common_args', 'load_tool_config', 'build_runner',
    'check_cfg_option_keys', 'known_top_level_keys', 'use_resumable_training',
    'warn_if_nothing_to_resume'
]

# top-level keys read by mmris' tools or mmengine besides Runner's arguments
_EXTRA_TOP_LEVEL = ('custom_imports', 'runner_type', 'vis_backends',
                    'work_dir', 'launcher', 'dist_params', 'gpu_ids')


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--cfg-options``, ``--launcher`` and ``--local-rank``."""
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value (xxx=yyy format); '
        'an unknown top-level key is an error')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def known_top_level_keys(cfg: Config) -> set:
    """Top-level keys a ``--cfg-options`` override may name.

    The config's own keys, the arguments of MMEngine's ``Runner`` (which
    ``Runner.from_cfg`` reads) and a few keys the tools read.
    """
    from mmengine.runner import Runner
    params = set(inspect.signature(Runner.__init__).parameters) - {'self'}
    return set(cfg.keys()) | params | set(_EXTRA_TOP_LEVEL)


def check_cfg_option_keys(cfg: Config, options: Optional[Iterable[str]],
                          config_name: str = 'the config') -> None:
    """Raise on a ``--cfg-options`` key whose top level nobody reads.

    ``Config.merge_from_dict`` adds any key, so a typo such as
    ``test_datloader.batch_size=4`` would otherwise be silently ignored.

    Args:
        cfg (Config): The config before the overrides are merged.
        options (Iterable[str], optional): The override keys (dotted).
        config_name (str): Name used in the message.

    Raises:
        KeyError: With the closest known key when one is close.
    """
    if not options:
        return
    known = known_top_level_keys(cfg)
    for key in options:
        top = key.split('.', 1)[0]
        if top in known:
            continue
        close = difflib.get_close_matches(top, sorted(known), n=1, cutoff=0.6)
        hint = (f' Did you mean {close[0]!r} '
                f'({key.replace(top, close[0], 1)})?' if close else '')
        raise KeyError(
            f'--cfg-options {key}: {top!r} is not a key of {config_name} '
            f'nor a Runner argument, so it would be ignored.{hint}')


def load_tool_config(args: argparse.Namespace) -> Config:
    """Read ``args.config``, apply ``--cfg-options`` and set the work dir.

    The work dir is ``--work-dir``, else the config's ``work_dir``, else
    ``./work_dirs/<config name>``. Unknown top-level override keys are an
    error (:func:`check_cfg_option_keys`).

    Args:
        args (Namespace): Parsed arguments with ``config``, ``work_dir``,
            ``launcher``, ``local_rank`` and ``cfg_options``.

    Returns:
        Config: The config, with ``launcher`` and ``work_dir`` set.
    """
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        check_cfg_option_keys(cfg, args.cfg_options, args.config)
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    return cfg


def use_resumable_training(cfg: Config) -> None:
    """Train epoch-based configs with mmris' exactly resumable loop.

    ``EpochBasedTrainLoop`` becomes
    :class:`~mmris.engine.runner.RISEpochBasedTrainLoop` and a
    ``DefaultSampler`` of the training loader becomes
    :class:`~mmris.datasets.samplers.ResumableSampler` (same order); other
    loop or sampler types are left as they are.
    """
    train_cfg = cfg.get('train_cfg')
    if not train_cfg:
        return
    loop_type = train_cfg.get('type', None)
    by_epoch = train_cfg.get('by_epoch', None)
    if loop_type in ('EpochBasedTrainLoop', 'mmengine.EpochBasedTrainLoop') \
            or (loop_type is None and by_epoch is not False
                and 'max_epochs' in train_cfg):
        train_cfg.pop('by_epoch', None)
        train_cfg['type'] = 'RISEpochBasedTrainLoop'
    loader = cfg.get('train_dataloader')
    if loader and loader.get('sampler') and \
            loader.sampler.get('type') in ('DefaultSampler',
                                           'mmengine.DefaultSampler'):
        loader.sampler['type'] = 'ResumableSampler'


def build_runner(cfg: Config):
    """Build the config's runner (``runner_type`` if set).

    Epoch-based training uses the exactly resumable loop and sampler
    (:func:`use_resumable_training`). A config with a ``strategy`` (for
    example FSDP, ``configs/_base_/strategies/fsdp.py``) and no
    ``runner_type`` gets MMEngine's ``FlexibleRunner``, the runner that
    takes strategies (docs/speed.md).

    Returns:
        mmengine.runner.Runner | mmengine.runner.FlexibleRunner: The runner.
    """
    from mmengine.runner import Runner
    use_resumable_training(cfg)
    if cfg.get('strategy') is not None and 'runner_type' not in cfg:
        cfg.runner_type = 'FlexibleRunner'
    if 'runner_type' in cfg:
        from mmengine.runner import FlexibleRunner

        from mmris.registry import RUNNERS
        runner = RUNNERS.build(cfg)
        if isinstance(runner, FlexibleRunner) and cfg.get('compile'):
            # FlexibleRunner.from_cfg (MMEngine 0.10) does not pass the
            # config's `compile` on; Runner.from_cfg reads it itself
            runner._compile = cfg.compile
        return runner
    return Runner.from_cfg(cfg)


def warn_if_nothing_to_resume(cfg: Config) -> bool:
    """Handle ``--resume`` without a checkpoint in the work dir.

    Returns:
        bool: True when there is a checkpoint to resume from; otherwise a
        warning says what the run does instead and ``cfg.resume`` is
        turned off.
    """
    from mmengine.runner import find_latest_checkpoint
    latest = find_latest_checkpoint(cfg.work_dir)
    if latest is not None:
        return True
    start = (f'loading weights from load_from={cfg.load_from}'
             if cfg.get('load_from') else 'from the config\'s initial weights')
    print_log(
        f'--resume: no checkpoint in the work dir {cfg.work_dir} '
        '(no last_checkpoint file or *.pth); starting a new run at epoch 1 '
        f'{start}.',
        logger='current',
        level=logging.WARNING)
    cfg.resume = False
    return False
