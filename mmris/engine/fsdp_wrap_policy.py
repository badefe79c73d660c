"""FSDP auto-wrap policy by block class name (issue 12, "Beyond one machine").

MMEngine's ``FSDPStrategy`` (through ``FlexibleRunner``) shards a model with
``MMFullyShardedDataParallel``, whose ``auto_wrap_policy`` may be given in a
config as ``dict(type='<dotted function path>', **kwargs)``. Wrapping every
transformer block in its own FSDP unit is the usual choice for transformer
backbones: one block's parameters are gathered at a time, so the memory for
parameters, gradients and optimizer state is divided by the number of
processes. This policy selects the blocks by class name, so configs need no
Python imports::

    strategy = dict(
        type='FSDPStrategy',
        model_wrapper=dict(
            auto_wrap_policy=dict(
                type='mmris.engine.fsdp_wrap_policy.wrap_blocks_policy',
                block_names=('BEiT3Layer', ))))

See docs/speed.md and configs/_base_/strategies/fsdp.py.
"""
from typing import Sequence

import torch.nn as nn

__all__ = ['wrap_blocks_policy']


def wrap_blocks_policy(module: nn.Module,
                       recurse: bool,
                       nonwrapped_numel: int,
                       block_names: Sequence[str] = ()) -> bool:
    """FSDP ``auto_wrap_policy``: one unit per module of the named classes.

    Args:
        module (nn.Module): The module FSDP considers.
        recurse (bool): True when FSDP asks whether to descend into
            ``module``'s children (always), False when it asks whether to
            wrap ``module`` itself.
        nonwrapped_numel (int): Parameters of ``module`` not yet wrapped
            (unused: the decision is by class).
        block_names (Sequence[str]): Class names to wrap, e.g.
            ``('BEiT3Layer', )``.

    Returns:
        bool: Whether to recurse / wrap.
    """
    if isinstance(block_names, str):
        raise TypeError('wrap_blocks_policy block_names must be a sequence '
                        f'of class names, got the string {block_names!r}')
    if recurse:
        return True
    return type(module).__name__ in block_names
