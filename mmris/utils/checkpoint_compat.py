"""Load MMEngine checkpoints with PyTorch >= 2.6.

Since PyTorch 2.6 ``torch.load`` defaults to ``weights_only=True`` and refuses
any object it does not know. mmengine 0.10.x calls ``torch.load`` without that
argument, and every checkpoint the Runner saves holds a ``message_hub`` with
:class:`mmengine.logging.HistoryBuffer` objects and numpy arrays/scalars, so
``load_from``, ``--resume``, ``tools/test.py`` and ``init_model`` all fail
with ``Unsupported global``.

:func:`register_checkpoint_safe_globals` is called once, by ``import mmris``.
It adds exactly the classes such checkpoints contain to PyTorch's allow-list
(:func:`torch.serialization.add_safe_globals`). Loading stays in the safe
``weights_only`` mode: a file that contains anything else still fails.
"""
from typing import List

import numpy as np
import torch

__all__ = ['register_checkpoint_safe_globals', 'checkpoint_safe_globals']


def checkpoint_safe_globals() -> List[object]:
    """Classes and functions an MMEngine Runner checkpoint is made of."""
    from mmengine.logging import HistoryBuffer

    safe: List[object] = [HistoryBuffer, np.ndarray, np.dtype]
    # numpy's pickle reconstructors moved from numpy.core to numpy._core (2.0)
    for mod_name in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        try:
            mod = __import__(mod_name, fromlist=['_reconstruct', 'scalar'])
        except ImportError:
            continue
        safe += [mod._reconstruct, mod.scalar]
        break
    # numpy >= 1.25 pickles dtypes as instances of numpy.dtypes.*DType
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        safe += [
            getattr(dtypes, name) for name in dir(dtypes)
            if name.endswith('DType')
        ]
    return safe


def register_checkpoint_safe_globals() -> None:
    """Allow-list the globals of MMEngine checkpoints for ``torch.load``."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:  # torch < 2.4 has no weights_only default to fix
        add(checkpoint_safe_globals())
