"""Build a neck or head from the spec of the module before it.

The glue of the shape contract (docs/design.md section 2): a module whose
constructor takes ``in_spec`` receives the declared output of its
predecessor, so that a config may leave out the arguments that only restate
it; a pairing that cannot work raises :class:`SpecMismatchError` naming both
modules, when the model is built.
"""
import inspect
from typing import Optional, Tuple

import torch.nn as nn

from mmris.registry import MODELS
from mmris.structures import FeatureSpec, SpecMismatchError

__all__ = ['build_with_spec', 'output_spec_of', 'takes_spec']


def _module_class(cfg: dict) -> type:
    module_type = cfg.get('type')
    if isinstance(module_type, type):
        return module_type
    cls = MODELS.get(module_type)
    if cls is None:
        raise KeyError(f'{module_type!r} is not a registered model '
                       'component (mmris.registry.MODELS)')
    return cls


def takes_spec(cls: type) -> bool:
    """Whether ``cls.__init__`` accepts an ``in_spec`` argument."""
    try:
        return 'in_spec' in inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return False


def build_with_spec(cfg: dict, in_spec: Optional[FeatureSpec],
                    producer: str) -> Tuple[nn.Module, str]:
    """Build ``cfg``, handing it ``in_spec`` if it takes one.

    Args:
        cfg (dict): Module config (``type`` and arguments).
        in_spec (FeatureSpec, optional): Declared output of the module
            before; None when that module declares nothing.
        producer (str): Name of the module before, for messages
            (e.g. ``'backbone CLIPViT'``).

    Returns:
        tuple[nn.Module, str]: The module and its class name.

    Raises:
        SpecMismatchError: The module cannot consume ``in_spec``; the message
            names both modules and what to change.
    """
    cfg = dict(cfg)
    cls = _module_class(cfg)
    name = cls.__name__
    if in_spec is not None and takes_spec(cls) and cfg.get('in_spec') is None:
        cfg['in_spec'] = in_spec
    try:
        return MODELS.build(cfg), name
    except SpecMismatchError as err:
        given = f' ({in_spec.describe()})' if in_spec is not None else ''
        raise SpecMismatchError(
            f'{name} cannot follow {producer}{given}: {err}') from None


def output_spec_of(module: nn.Module,
                   in_spec: Optional[FeatureSpec]) -> Optional[FeatureSpec]:
    """The spec a module declares for its output, if it declares one.

    Backbones define ``output_spec()``; necks define ``output_spec()`` from
    the spec they were built with. A module without the method yields None
    (its successor then needs its arguments spelt out).
    """
    method = getattr(module, 'output_spec', None)
    if method is None:
        return None
    spec = method()
    if spec is not None and not spec.source:
        spec = spec.replace(source=type(module).__name__)
    return spec
