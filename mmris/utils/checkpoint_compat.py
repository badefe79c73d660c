"""Load MMEngine checkpoints with PyTorch >= 2.6.

Since PyTorch 2.6 ``torch.load`` defaults to ``weights_only=True`` and refuses
any object it does not know. mmengine 0.10.x calls ``torch.load`` without that
argument, and every checkpoint its Runner saves holds a ``message_hub`` with
:class:`mmengine.logging.HistoryBuffer` objects, numpy arrays and scalars,
and the buffers' bound statistics methods (pickled through ``getattr``). So
``load_from``, ``--resume``, ``tools/test.py`` and ``init_model`` all fail with
``Unsupported global``.

An allow-list cannot fix this safely: it would have to admit ``getattr``,
which defeats ``weights_only``. mmris therefore does what mmengine's own fix
(unreleased at 0.10.7) does: :func:`register_trusted_checkpoint_loader`,
called once by ``import mmris``, replaces mmengine's loader of local files
by one that calls ``torch.load(..., weights_only=False)``. A file given as
``load_from``, ``--resume`` or to ``tools/test.py`` is treated as trusted,
exactly as with PyTorch < 2.6: load only checkpoints you trust. Plain
``torch.load`` calls elsewhere keep PyTorch's safe default.
"""
import os.path as osp
from typing import Any, Optional

import torch

__all__ = [
    'register_trusted_checkpoint_loader', 'load_trusted_checkpoint',
    'load_from_local'
]


def load_trusted_checkpoint(filename: str,
                            map_location: Optional[Any] = None) -> Any:
    """Load a local checkpoint file that the user chose to load.

    Args:
        filename (str): Path of the checkpoint (``~`` is expanded).
        map_location: As in :func:`torch.load`.

    Returns:
        The unpickled checkpoint (usually a dict).
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint file not found: {filename}')
    return torch.load(filename, map_location=map_location, weights_only=False)


def load_from_local(filename: str, map_location: Optional[Any] = None) -> Any:
    """mmengine's loader of local files: :func:`load_trusted_checkpoint`.

    mmengine logs ``'Loads checkpoint by ' + loader.__name__[10:]`` (the
    name after ``load_from_``), so the loader is named like mmengine's own.
    """
    return load_trusted_checkpoint(filename, map_location=map_location)


def register_trusted_checkpoint_loader() -> None:
    """Make mmengine load local checkpoint files on PyTorch >= 2.6."""
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local, force=True)
