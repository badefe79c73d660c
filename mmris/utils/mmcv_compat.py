"""Make mmsegmentation importable on ``mmcv-lite``.

mmris needs no compiled mmcv operator, so it installs ``mmcv-lite`` (pure
Python, no build step, identical on CPU and CUDA machines). mmsegmentation
1.2.2, however, imports ``mmcv.ops`` unguarded at module level
(``mmseg.utils.mask_classification``, ``mmseg.models.utils.point_sample``,
``mmseg.models.losses.focal_loss``), and ``mmcv.ops`` of ``mmcv-lite`` fails
because the compiled ``mmcv._ext`` is missing.

:func:`ensure_mmcv_ops` is called once, by ``import mmris``, before anything
imports mmseg. When the real ``mmcv.ops`` imports (full mmcv installed), it
does nothing. Otherwise it registers a small stand-in module as ``mmcv.ops``:

* ``point_sample`` is implemented in plain PyTorch (it is a thin wrapper of
  :func:`torch.nn.functional.grid_sample`);
* the other names mmseg and mmengine import unguarded at module level are
  placeholders that raise a clear error when *used* (mmris never uses them;
  mmris' own focal loss needs no ``mmcv.ops``);
* any other name raises :class:`ModuleNotFoundError`, which is what the
  guarded imports in mmseg (``try: from mmcv.ops import X except
  ModuleNotFoundError``) expect.
"""
import importlib
import sys
import types
import warnings
from typing import Any, Callable

import torch
import torch.nn.functional as F

__all__ = ['ensure_mmcv_ops', 'point_sample', 'MMCV_OPS_IS_STUB']

#: True once the stand-in ``mmcv.ops`` has been installed.
MMCV_OPS_IS_STUB = False

_HINT = ('mmris installs mmcv-lite, which has no compiled operators. '
         'Install the full mmcv ("pip install mmcv==2.1.0", or '
         '"mim install mmcv==2.1.0" for a prebuilt CUDA wheel) to use it.')


def point_sample(input: torch.Tensor,
                 points: torch.Tensor,
                 align_corners: bool = False,
                 **kwargs: Any) -> torch.Tensor:
    """Sample features at normalised point coordinates.

    Same contract as ``mmcv.ops.point_sample``.

    Args:
        input (Tensor): Feature map, shape (N, C, H, W).
        points (Tensor): Coordinates in [0, 1] x [0, 1], shape (N, P, 2) or
            (N, Hgrid, Wgrid, 2).
        align_corners (bool): Passed to ``grid_sample``.

    Returns:
        Tensor: Sampled features, (N, C, P) or (N, C, Hgrid, Wgrid).
    """
    add_dim = points.dim() == 3
    if add_dim:
        points = points.unsqueeze(2)
    out = F.grid_sample(
        input, 2.0 * points - 1.0, align_corners=align_corners, **kwargs)
    return out.squeeze(3) if add_dim else out


def _placeholder(name: str) -> Callable:

    def _missing(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError(f'mmcv.ops.{name} is not available: {_HINT}')

    _missing.__name__ = name
    return _missing


class _StubOps(types.ModuleType):
    """Stand-in for ``mmcv.ops``; unknown names raise ModuleNotFoundError."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith('__'):
            raise AttributeError(name)
        raise ModuleNotFoundError(f'mmcv.ops.{name} is not available: {_HINT}')


# Names imported unguarded at module level by mmseg 1.2.2 / mmengine 0.10.
_UNGUARDED = ('sigmoid_focal_loss', )


def ensure_mmcv_ops() -> bool:
    """Make ``import mmcv.ops`` work; return True if the real one is used."""
    global MMCV_OPS_IS_STUB
    if 'mmcv.ops' in sys.modules:
        return not MMCV_OPS_IS_STUB
    try:
        importlib.import_module('mmcv.ops')
        return True
    except ImportError as err:
        if '_ext' not in str(err):
            raise
    # A failed import can leave half-initialised submodules behind.
    for key in [k for k in sys.modules if k.startswith('mmcv.ops')]:
        del sys.modules[key]
    import mmcv
    stub = _StubOps('mmcv.ops', __doc__)
    stub.point_sample = point_sample
    for name in _UNGUARDED:
        setattr(stub, name, _placeholder(name))
    sys.modules['mmcv.ops'] = stub
    # mmcv.cnn warns about this op on every import of mmcv-lite; it is known.
    warnings.filterwarnings(
        'ignore', message='Fail to import ``MultiScaleDeformableAttention``')
    mmcv.ops = stub
    MMCV_OPS_IS_STUB = True
    return False
