"""Mixed precision where the machine supports it, float32 elsewhere.

MMEngine's :class:`~mmengine.optim.AmpOptimWrapper` asserts at construction
that a GPU (or NPU / MLU / MUSA) is present, so a config that trains with AMP
on GPUs cannot run unchanged on a machine without one (for example
``tools/dist_train.sh CONFIG 2`` with two CPU processes and gloo).
``AutoAmpOptimWrapper`` builds an ``AmpOptimWrapper`` when an accelerator is
available and a plain float32 ``OptimWrapper`` otherwise (with a warning),
so one config serves both.

On a CUDA GPU it also picks the fastest safe settings (issue 12, "GPU
speed"; docs/speed.md):

* autocast dtype: ``bfloat16`` where the GPU has it
  (``torch.cuda.is_bf16_supported()``, Ampere and later), else ``float16``
  with dynamic loss scaling. An explicit ``dtype`` in the config wins.
  bfloat16 has float32's exponent range, so ``loss_scale='dynamic'`` builds
  a disabled scaler for it (no unscale / inf check per step); a float or
  dict ``loss_scale`` is always honoured.
* fused Adam / AdamW (``fused='auto'``): the optimizer is rebuilt with
  ``fused=True`` when every parameter is on a CUDA device; never on a CPU.

With ``use_fsdp=True`` (FSDP through MMEngine's ``FlexibleRunner``) every
process holds a shard of each gradient, so norm clipping
(``clip_grad=dict(max_norm=...)``) uses the norm over all processes
(:func:`clip_grad_norm_across_ranks_`), as under DDP, not each shard's own.

It is registered with the rest of mmris (``default_scope='mmris'``);
``tools/train.py --amp`` selects it. Usage in a config::

    optim_wrapper = dict(type='AutoAmpOptimWrapper', optimizer=...,
                         loss_scale='dynamic')
"""
import inspect
import logging
import math
from typing import Iterable, Optional, Tuple, Union

import torch
import torch.distributed as dist
from mmengine.device import (is_cuda_available, is_mlu_available,
                             is_musa_available, is_npu_available)
from mmengine.logging import print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from torch.optim import Optimizer

from mmris.registry import OPTIM_WRAPPERS

__all__ = [
    'AutoAmpOptimWrapper', 'amp_available', 'select_amp_settings',
    'maybe_fuse_optimizer', 'clip_grad_norm_across_ranks_'
]

#: Arguments that only ``AmpOptimWrapper`` accepts.
_AMP_ONLY_ARGS = ('loss_scale', 'dtype', 'use_fsdp')

DType = Union[str, torch.dtype, None]


def amp_available() -> bool:
    """Whether ``AmpOptimWrapper`` can be built on this machine."""
    return (is_cuda_available() or is_npu_available() or is_mlu_available()
            or is_musa_available())


def _dtype_name(dtype: DType) -> Optional[str]:
    if isinstance(dtype, torch.dtype):
        return str(dtype).replace('torch.', '')
    return dtype


def select_amp_settings(
        dtype: DType = None,
        loss_scale: Union[str, float, dict] = 'dynamic'
) -> Tuple[DType, Union[str, float, dict]]:
    """The autocast dtype and loss scaling for this machine.

    Args:
        dtype (str | torch.dtype, optional): The config's ``dtype``; when
            given it is returned unchanged. ``None`` picks ``'bfloat16'`` on
            a CUDA GPU that supports it, ``'float16'`` on other CUDA GPUs
            and ``None`` (the device's autocast default) on NPU / MLU /
            MUSA.
        loss_scale (str | float | dict): The config's ``loss_scale``.
            ``'dynamic'`` with a bfloat16 or float32 dtype becomes
            ``dict(enabled=False)``: those dtypes need no scaling.

    Returns:
        tuple: ``(dtype, loss_scale)`` for ``AmpOptimWrapper``.
    """
    if dtype is None and is_cuda_available():
        dtype = ('bfloat16'
                 if torch.cuda.is_bf16_supported() else 'float16')
    if loss_scale == 'dynamic' and _dtype_name(dtype) in ('bfloat16',
                                                          'float32',
                                                          'float64'):
        loss_scale = dict(enabled=False)
    return dtype, loss_scale


def _supports_fused(optimizer: Optimizer) -> bool:
    return 'fused' in inspect.signature(type(optimizer).__init__).parameters


def _all_on_cuda(optimizer: Optimizer) -> bool:
    params = [p for g in optimizer.param_groups for p in g['params']]
    return bool(params) and all(p.is_cuda for p in params)


def maybe_fuse_optimizer(optimizer: Optimizer,
                         fused: Union[bool, str] = 'auto') -> Optimizer:
    """Rebuild ``optimizer`` with ``fused=True`` where that is possible.

    A fused optimizer (Adam, AdamW, SGD ...) updates all tensors of a
    parameter group in one CUDA kernel instead of one launch per tensor. It
    must be built before it holds any state, which is the case when the
    optimizer wrapper is built.

    Args:
        optimizer (Optimizer): A freshly built optimizer (no state).
        fused (bool | str): ``'auto'``: fuse when every parameter is on a
            CUDA device and the optimizer class accepts ``fused``. ``True``:
            the same, with a warning where it is not possible (for example
            on a CPU, where mmris never fuses). ``False``: leave it.

    Returns:
        Optimizer: ``optimizer`` itself or its fused rebuild (same class,
        parameter groups and hyper-parameters).
    """
    if fused not in (True, False, 'auto'):
        raise ValueError(
            f"optim_wrapper.fused must be True, False or 'auto', got "
            f'{fused!r}')
    if not fused or optimizer.defaults.get('fused'):
        return optimizer
    reason = None
    if not _supports_fused(optimizer):
        reason = f'{type(optimizer).__name__} has no fused implementation'
    elif not _all_on_cuda(optimizer):
        reason = 'the parameters are not all on a CUDA device'
    elif optimizer.state:
        reason = 'the optimizer already holds state'
    if reason is not None:
        if fused is True:
            print_log(f'optim_wrapper.fused=True ignored: {reason}.',
                      logger='current',
                      level=logging.WARNING)
        return optimizer
    groups = [
        dict(group, fused=True, foreach=None)
        for group in optimizer.param_groups
    ]
    # only what the constructor takes (AdamW's defaults also hold
    # ``decoupled_weight_decay``, which its __init__ does not accept)
    accepted = inspect.signature(type(optimizer).__init__).parameters
    defaults = {
        k: v
        for k, v in optimizer.defaults.items()
        if k in accepted and k not in ('fused', 'foreach')
    }
    return type(optimizer)(groups, fused=True, foreach=None, **defaults)


def clip_grad_norm_across_ranks_(parameters: Iterable[torch.Tensor],
                                 max_norm: float,
                                 norm_type: float = 2.0,
                                 error_if_nonfinite: bool = False,
                                 foreach: Optional[bool] = None
                                 ) -> torch.Tensor:
    """``torch.nn.utils.clip_grad_norm_`` for gradients sharded over ranks.

    Each element of each gradient lives on exactly one process (FSDP's
    sharded parameters with ``use_orig_params=True``). The local
    ``sum |g|^p`` (or max) is all-reduced, so every process clips with the
    norm of the whole gradient. Without an initialised process group it is
    ``clip_grad_norm_``.

    Args:
        parameters (Iterable[Tensor]): This process's parameters (shards).
        max_norm (float): Largest allowed total norm.
        norm_type (float): p of the p-norm (``inf`` for the max norm).
        error_if_nonfinite (bool): Raise if the total norm is not finite.
        foreach (bool, optional): Unused (accepted for MMEngine's
            ``clip_grad`` kwargs).

    Returns:
        Tensor: The total norm over all processes, before clipping.
    """
    grads = [p.grad for p in parameters if p.grad is not None]
    norm_type = float(norm_type)
    if grads:
        device = grads[0].device
    else:  # a process without gradients still joins the all-reduce
        device = (torch.device('cuda', torch.cuda.current_device())
                  if torch.cuda.is_available() else torch.device('cpu'))
    if math.isinf(norm_type):
        local = (torch.stack([g.detach().abs().max() for g in grads]).max()
                 if grads else torch.zeros((), device=device))
        op = getattr(dist.ReduceOp, 'MAX', None)
    else:
        local = (torch.stack([
            g.detach().float().norm(norm_type)**norm_type for g in grads
        ]).sum() if grads else torch.zeros((), device=device))
        op = getattr(dist.ReduceOp, 'SUM', None)
    local = local.float()
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(local, op=op)
    total = local if math.isinf(norm_type) else local**(1.0 / norm_type)
    if error_if_nonfinite and not torch.isfinite(total):
        raise RuntimeError(f'the total gradient norm {float(total)} is not '
                           'finite')
    coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        g.detach().mul_(coef.to(g.device, g.dtype))
    return total


@OPTIM_WRAPPERS.register_module()
def AutoAmpOptimWrapper(  # noqa: N802
        dtype: DType = None,
        loss_scale: Union[str, float, dict] = 'dynamic',
        fused: Union[bool, str] = 'auto',
        **kwargs) -> OptimWrapper:
    """``AmpOptimWrapper(**kwargs)`` on an accelerator, else float32.

    Args:
        dtype (str | torch.dtype, optional): Autocast dtype; ``None`` picks
            bfloat16 or float16 (:func:`select_amp_settings`).
        loss_scale (str | float | dict): As ``AmpOptimWrapper``'s; dynamic
            scaling is only kept for float16.
        fused (bool | str): Fused optimizer step on CUDA
            (:func:`maybe_fuse_optimizer`). Defaults to ``'auto'``.
        **kwargs: Other arguments of :class:`~mmengine.optim.AmpOptimWrapper`
            (``optimizer``, ``accumulative_counts``, ``clip_grad``,
            ``use_fsdp`` ...). Without an accelerator the AMP-only ones
            (``loss_scale``, ``dtype``, ``use_fsdp``) are dropped and the rest
            build an :class:`~mmengine.optim.OptimWrapper`.

    Returns:
        OptimWrapper: An ``AmpOptimWrapper`` or a plain ``OptimWrapper``.
    """
    if isinstance(kwargs.get('optimizer'), Optimizer):
        kwargs['optimizer'] = maybe_fuse_optimizer(kwargs['optimizer'], fused)
    if amp_available():
        dtype, loss_scale = select_amp_settings(dtype, loss_scale)
        wrapper = AmpOptimWrapper(
            dtype=dtype, loss_scale=loss_scale, **kwargs)
        clips_norm = (getattr(wrapper, 'clip_func', None)
                      is torch.nn.utils.clip_grad_norm_)
        if kwargs.get('use_fsdp') and clips_norm:
            wrapper.clip_func = clip_grad_norm_across_ranks_
        return wrapper
    print_log(
        'AutoAmpOptimWrapper: no GPU/NPU/MLU/MUSA available, training in '
        'float32 without mixed precision.',
        logger='current',
        level=logging.WARNING)
    for key in _AMP_ONLY_ARGS:
        kwargs.pop(key, None)
    return OptimWrapper(**kwargs)
