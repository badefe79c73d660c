"""Activation checkpointing for the large backbones (issue 12, GPU speed).

``with_cp=True`` (OpenMMLab's name) on :class:`~mmris.models.backbones.BEiT3`,
:class:`~mmris.models.backbones.CLIPViT` and
:class:`~mmris.models.backbones.RISCLIPBackbone` recomputes each transformer
block in the backward pass instead of storing its activations
(Chen et al. 2016, "Training Deep Nets with Sublinear Memory Cost"): about
one block's activations are kept instead of all of them, for roughly one
extra forward pass of compute. Non-reentrant checkpointing restores the RNG
state, so dropout and drop-path draw the same masks in the recomputation
and outputs and gradients are unchanged.
"""
from typing import Any, Callable

import torch
from torch.utils.checkpoint import checkpoint

__all__ = ['checkpoint_call']


def checkpoint_call(fn: Callable, *args: Any, enabled: bool = True) -> Any:
    """``fn(*args)``, checkpointed when ``enabled`` and autograd records.

    Args:
        fn (Callable): A block (module or function) of tensors.
        *args: Its positional arguments.
        enabled (bool): Checkpoint; callers pass ``with_cp and
            self.training``.

    Returns:
        Any: ``fn(*args)``.
    """
    if enabled and torch.is_grad_enabled():
        return checkpoint(fn, *args, use_reentrant=False)
    return fn(*args)
