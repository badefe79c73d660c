"""Mixed precision where the machine supports it, float32 elsewhere.

MMEngine's :class:`~mmengine.optim.AmpOptimWrapper` asserts at construction
that a GPU (or NPU / MLU / MUSA) is present, so a config that trains with AMP
on GPUs cannot run unchanged on a machine without one (for example
``tools/dist_train.sh CONFIG 2`` with two CPU processes and gloo).
``AutoAmpOptimWrapper`` builds an ``AmpOptimWrapper`` when an accelerator is
available and a plain float32 ``OptimWrapper`` otherwise (with a warning),
so one config serves both.

It is registered with the rest of mmris (``default_scope='mmris'``);
``tools/train.py --amp`` selects it. Usage in a config::

    optim_wrapper = dict(type='AutoAmpOptimWrapper', optimizer=...,
                         loss_scale='dynamic')
"""
import logging

from mmengine.device import (is_cuda_available, is_mlu_available,
                             is_musa_available, is_npu_available)
from mmengine.logging import print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from mmris.registry import OPTIM_WRAPPERS

__all__ = ['AutoAmpOptimWrapper', 'amp_available']

#: Arguments that only ``AmpOptimWrapper`` accepts.
_AMP_ONLY_ARGS = ('loss_scale', 'dtype', 'use_fsdp')


def amp_available() -> bool:
    """Whether ``AmpOptimWrapper`` can be built on this machine."""
    return (is_cuda_available() or is_npu_available() or is_mlu_available()
            or is_musa_available())


@OPTIM_WRAPPERS.register_module()
def AutoAmpOptimWrapper(**kwargs) -> OptimWrapper:  # noqa: N802
    """``AmpOptimWrapper(**kwargs)`` on an accelerator, else float32.

    Args:
        **kwargs: Arguments of :class:`~mmengine.optim.AmpOptimWrapper`
            (``optimizer``, ``loss_scale``, ``dtype``, ``accumulative_counts``,
            ``clip_grad`` ...). Without an accelerator the AMP-only ones
            (``loss_scale``, ``dtype``, ``use_fsdp``) are dropped and the rest
            build an :class:`~mmengine.optim.OptimWrapper`.

    Returns:
        OptimWrapper: An ``AmpOptimWrapper`` or a plain ``OptimWrapper``.
    """
    if amp_available():
        return AmpOptimWrapper(**kwargs)
    print_log(
        'AutoAmpOptimWrapper: no GPU/NPU/MLU/MUSA available, training in '
        'float32 without mixed precision.',
        logger='current',
        level=logging.WARNING)
    for key in _AMP_ONLY_ARGS:
        kwargs.pop(key, None)
    return OptimWrapper(**kwargs)
