"""Strict weight loading: stop on a checkpoint of another model.

mmengine's ``load_checkpoint`` (``strict=False``, as ``load_from`` uses it)
only logs a "do not match exactly" line and leaves every unmatched
parameter at its random initialisation, so a checkpoint of another model
evaluates random weights without an error. Testing and inference load with
:func:`load_weights_strictly`, which lists the missing, unexpected and
mis-shaped keys and raises; ``tools/test.py --non-strict`` and
``init_model(..., strict=False)`` opt out (the lists are then a warning).
"""
import logging
from typing import Dict, List, Mapping, Optional

import torch.nn as nn
from mmengine.logging import print_log

__all__ = ['CheckpointMismatchError', 'compare_state_dict',
           'load_weights_strictly']

_SHOWN = 20


class CheckpointMismatchError(RuntimeError):
    """A checkpoint does not fit the model built from the config."""


def _strip_prefix(state_dict: Mapping, prefix: str = 'module.') -> Dict:
    return {(k[len(prefix):] if k.startswith(prefix) else k): v
            for k, v in state_dict.items()}


def compare_state_dict(model: nn.Module,
                       state_dict: Mapping) -> Dict[str, List[str]]:
    """Keys of ``state_dict`` that do not fit ``model``.

    Args:
        model (nn.Module): The model (a DDP wrapper is unwrapped).
        state_dict (Mapping): Checkpoint weights (a ``module.`` prefix is
            dropped, as mmengine does).

    Returns:
        dict: ``missing`` (in the model, not the checkpoint),
        ``unexpected`` (in the checkpoint, not the model) and ``mismatched``
        (``'key: checkpoint (shape) vs model (shape)'``) key lists.
    """
    model = getattr(model, 'module', model)
    own = model.state_dict()
    ckpt = _strip_prefix(state_dict)
    missing = [k for k in own if k not in ckpt]
    unexpected = [k for k in ckpt if k not in own]
    mismatched = []
    for key, value in ckpt.items():
        if key in own and hasattr(value, 'shape') and \
                tuple(value.shape) != tuple(own[key].shape):
            mismatched.append(f'{key}: checkpoint {tuple(value.shape)} vs '
                              f'model {tuple(own[key].shape)}')
    return dict(missing=missing, unexpected=unexpected, mismatched=mismatched)


def _describe(problems: Dict[str, List[str]]) -> str:
    lines = []
    for name, keys in problems.items():
        if not keys:
            continue
        lines.append(f'{len(keys)} {name} key(s):')
        lines += [f'    {k}' for k in keys[:_SHOWN]]
        if len(keys) > _SHOWN:
            lines.append(f'    ... and {len(keys) - _SHOWN} more')
    return '\n'.join(lines)


def load_weights_strictly(model: nn.Module,
                          checkpoint: str,
                          strict: bool = True,
                          map_location: str = 'cpu',
                          state_dict: Optional[Mapping] = None) -> dict:
    """Check a checkpoint against ``model`` and load it.

    Args:
        model (nn.Module): The model built from the config.
        checkpoint (str): Checkpoint file.
        strict (bool): Raise :class:`CheckpointMismatchError` if any key is
            missing, unexpected or mis-shaped; False loads what fits and
            logs the lists as a warning. Defaults to True.
        map_location (str): As in ``torch.load``. Defaults to 'cpu'.
        state_dict (Mapping, optional): Check these weights instead of the
            file's (the file is then not loaded into the model).

    Returns:
        dict: The loaded checkpoint (``{'state_dict': ...}`` for a bare
        state dict).
    """
    from mmengine.runner.checkpoint import (_load_checkpoint,
                                            _load_checkpoint_to_model)
    ckpt = None
    if state_dict is None:
        ckpt = _load_checkpoint(checkpoint, map_location=map_location)
        if not isinstance(ckpt, dict):
            raise CheckpointMismatchError(
                f'{checkpoint} holds a {type(ckpt).__name__}, not a '
                'checkpoint dict')
        state_dict = ckpt.get('state_dict', ckpt)
    problems = compare_state_dict(model, state_dict)
    if any(problems.values()):
        msg = (f'checkpoint {checkpoint} does not fit the model built from '
               f'the config ({type(getattr(model, "module", model)).__name__}'
               f'):\n{_describe(problems)}')
        if strict:
            raise CheckpointMismatchError(
                msg + '\nIs it a checkpoint of this config? Pass '
                '--non-strict (tools) or strict=False (init_model, '
                'RISInferencer) to load the matching weights anyway.')
        print_log(msg + '\nLoading the matching weights only (non-strict).',
                  logger='current', level=logging.WARNING)
    if ckpt is not None:
        target = getattr(model, 'module', model)
        _load_checkpoint_to_model(target, ckpt, strict=False)
        return ckpt
    return dict(state_dict=state_dict)
