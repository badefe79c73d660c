"""A referring segmentor that trains only some of its parts.

RISCLIP (Sec. 3.5, App. A.1) trains in two stages: stage 1 (the "Locator")
trains the Adapters, CFE, SKE and the grounding scale / bias with CLIP
frozen; stage 2 (the "Refiner") trains the decoder only, "all modules except
the decoder remain frozen", with the batch norms of frozen parts in eval
mode. ``trainable`` names the parts that train (parameter-name prefixes);
every other parameter gets ``requires_grad=False`` at build time, so the
optimizer never sees it (MMEngine's optimizer constructor skips frozen
parameters), and every module outside those parts stays in eval mode
(batch-norm statistics and dropout frozen) whatever ``train()`` is called
with. Parameters frozen by a part itself (CLIP inside the RISCLIP backbone)
stay frozen.
"""
from typing import Optional, Sequence

import torch.nn as nn

from mmris.registry import MODELS
from .ref_segmentor import RefSegmentor

__all__ = ['StagedRefSegmentor']


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + '.')


@MODELS.register_module()
class StagedRefSegmentor(RefSegmentor):
    """:class:`RefSegmentor` whose parts outside ``trainable`` are frozen.

    Args:
        trainable (Sequence[str], optional): Prefixes of the parameter names
            that train, e.g. ``('backbone', 'neck')`` (RISCLIP stage 1) or
            ``('decode_head.decoder',)`` (stage 2). None trains everything
            (a plain :class:`RefSegmentor`).
        **kwargs: Arguments of :class:`RefSegmentor`.
    """

    def __init__(self, trainable: Optional[Sequence[str]] = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if isinstance(trainable, str):
            trainable = (trainable, )
        self.trainable = tuple(trainable) if trainable is not None else None
        self._freeze()

    def _freeze(self) -> None:
        if self.trainable is None:
            return
        names = [name for name, _ in self.named_parameters()]
        for prefix in self.trainable:
            if not any(_under(name, prefix) for name in names):
                raise ValueError(
                    f'trainable prefix "{prefix}" matches no parameter of '
                    f'the model (top-level parts: '
                    f'{sorted({n.split(".")[0] for n in names})})')
        for name, param in self.named_parameters():
            if not any(_under(name, prefix) for prefix in self.trainable):
                param.requires_grad = False

    def _is_frozen_module(self, name: str) -> bool:
        """Outside every trainable part and no ancestor of one."""
        if not name:
            return False
        return not any(
            _under(name, prefix) or prefix.startswith(name + '.')
            for prefix in self.trainable)

    def train(self, mode: bool = True) -> 'StagedRefSegmentor':
        """Set the mode; modules outside ``trainable`` stay in eval mode."""
        super().train(mode)
        if mode and self.trainable is not None:
            for name, module in self.named_modules():
                if self._is_frozen_module(name):
                    nn.Module.train(module, False)
        return self
