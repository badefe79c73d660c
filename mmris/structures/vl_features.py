"""The feature container passed from backbone to neck to head.

Implements the contract of DESIGN.md section 2: every backbone (dual- or
single-encoder) fills one :class:`VLFeatures`; a neck returns a new one with
fused visual maps; a head reads what it needs.
"""
from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Optional

import torch
from torch import Tensor

__all__ = ['VLFeatures']


@dataclass
class VLFeatures:
    """Visual and language features of one batch.

    Convention for the whole package: ``word_pad_mask`` is True at **padded**
    positions (the convention of ``key_padding_mask`` in
    :class:`torch.nn.MultiheadAttention`), False at real tokens (start and end
    tokens count as real).

    Attributes:
        visual (list[Tensor]): Visual feature maps from shallow to deep, each
            (B, C_i, H_i, W_i).
        words (Tensor): Word (token) features, (B, L, C_t).
        word_pad_mask (Tensor): Bool, (B, L); True where the token is padding.
        sentence (Tensor): Sentence feature (EOT token / text CLS), (B, C_s).
        visual_cls (list[Tensor], optional): Image-level token per visual
            level, each (B, C_i). Used by ASDA's adaptive feature selection.
        extras (dict): Method-specific signals (e.g. a grounding map).
    """

    visual: List[Tensor]
    words: Tensor
    word_pad_mask: Tensor
    sentence: Tensor
    visual_cls: Optional[List[Tensor]] = None
    extras: Dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.visual, (list, tuple)) or not self.visual:
            raise TypeError('VLFeatures.visual must be a non-empty list of '
                            f'(B, C, H, W) tensors, got {type(self.visual)}')
        batch = self.visual[0].shape[0]
        if self.words.dim() != 3 or self.words.shape[0] != batch:
            raise ValueError('VLFeatures.words must be (B, L, C) with B='
                             f'{batch}, got {tuple(self.words.shape)}')
        if (self.word_pad_mask.dtype != torch.bool
                or self.word_pad_mask.shape != self.words.shape[:2]):
            raise ValueError(
                'VLFeatures.word_pad_mask must be a bool (B, L) tensor '
                f'matching words {tuple(self.words.shape[:2])}, got '
                f'{self.word_pad_mask.dtype} {tuple(self.word_pad_mask.shape)}')
        if self.sentence.dim() != 2 or self.sentence.shape[0] != batch:
            raise ValueError('VLFeatures.sentence must be (B, C) with B='
                             f'{batch}, got {tuple(self.sentence.shape)}')

    @property
    def batch_size(self) -> int:
        """Number of samples in the batch."""
        return self.visual[0].shape[0]

    @property
    def word_valid_mask(self) -> Tensor:
        """Bool (B, L), True at real tokens (the negation of the pad mask)."""
        return ~self.word_pad_mask

    def replace(self, **changes: Any) -> 'VLFeatures':
        """Return a copy with the given fields replaced (used by necks)."""
        return replace(self, **changes)
