"""What ``tools/train.py`` and ``tools/test.py`` share."""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction

__all__ = ['add_common_args', 'load_tool_config', 'build_runner']


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--cfg-options``, ``--launcher`` and ``--local-rank``."""
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value (xxx=yyy format)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_tool_config(args: argparse.Namespace) -> Config:
    """Read ``args.config``, apply ``--cfg-options`` and set the work dir.

    The work dir is ``--work-dir``, else the config's ``work_dir``, else
    ``./work_dirs/<config name>``.

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
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    return cfg


def build_runner(cfg: Config):
    """Build the config's runner (``runner_type`` if set).

    Returns:
        mmengine.runner.Runner: The runner.
    """
    from mmengine.runner import Runner
    if 'runner_type' in cfg:
        from mmris.registry import RUNNERS
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)
