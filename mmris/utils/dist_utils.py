"""Distributed training on machines without a GPU (gloo backend).

MMEngine's launcher path assumes CUDA: ``init_dist`` calls
``torch.cuda.set_device`` and the Runner wraps the model in DDP with
``device_ids=[LOCAL_RANK]``, both of which fail on a CPU-only machine.
:func:`setup_cpu_distributed` is called by ``tools/train.py`` and
``tools/test.py`` before the Runner is built: on a machine without CUDA it
initialises the process group with gloo from the ``torchrun`` environment
and asks the Runner for a CPU DDP wrapper. With CUDA it does nothing, and
MMEngine's own NCCL path is used unchanged.
"""
import os

import torch
import torch.distributed as dist
from mmengine.config import Config

__all__ = ['setup_cpu_distributed', 'shutdown_distributed']

_TORCHRUN_VARS = ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR',
                  'MASTER_PORT')


def setup_cpu_distributed(cfg: Config, launcher: str) -> bool:
    """Prepare gloo distributed training when no GPU is present.

    Args:
        cfg (Config): The config; ``env_cfg.dist_cfg`` is set to gloo and
            ``model_wrapper_cfg`` to a DDP wrapper without device ids.
        launcher (str): The ``--launcher`` argument.

    Returns:
        bool: True if the CPU (gloo) path was set up.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if launcher != 'pytorch':
        raise RuntimeError(
            f'--launcher {launcher} without a GPU is not supported; use '
            'tools/dist_train.sh (torchrun, --launcher pytorch).')
    missing = [name for name in _TORCHRUN_VARS if name not in os.environ]
    if missing:
        raise RuntimeError(f'--launcher pytorch needs the torchrun '
                           f'environment; missing {missing}. Start it with '
                           'tools/dist_train.sh CONFIG GPUS.')
    dist_cfg = dict(cfg.get('env_cfg', {}).get('dist_cfg', {}))
    dist_cfg['backend'] = 'gloo'
    cfg.setdefault('env_cfg', {})
    cfg.env_cfg['dist_cfg'] = dist_cfg
    if not dist.is_initialized():
        kwargs = {k: v for k, v in dist_cfg.items() if k != 'backend'}
        if 'timeout' in kwargs and isinstance(kwargs['timeout'], int):
            import datetime
            kwargs['timeout'] = datetime.timedelta(seconds=kwargs['timeout'])
        dist.init_process_group(backend='gloo', **kwargs)
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper['device_ids'] = None
    wrapper.setdefault('broadcast_buffers', False)
    wrapper.setdefault('find_unused_parameters',
                       cfg.get('find_unused_parameters', False))
    cfg.model_wrapper_cfg = wrapper
    if cfg.get('sync_bn'):
        cfg.sync_bn = None  # SyncBatchNorm needs CUDA
    return True


def shutdown_distributed() -> None:
    """Destroy the default process group, if any, after a run.

    Leaving it to interpreter exit races the gloo/NCCL worker threads'
    teardown ("terminate called without an active exception", exit code
    -6 after a finished run); destroying it first makes the exit clean.
    """
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
