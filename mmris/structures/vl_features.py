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
        word_levels (list[Tensor], optional): Word features per visual level,
            aligned with ``visual``, each (B, L, C_t_i): the text half of a
            single encoder's layer (BEiT-3) or a text-layer tap. Consumers
            fall back to ``words`` for every level when absent.
        joint_levels (list[Tensor], optional): The joint vision-text token
            sequence of each visual level where the backbone has one (BEiT-3's
            shared layers), each (B, N_v + L, C_i) with the vision tokens
            first (CLS, then the H_i * W_i patches row-major), then the L
            text tokens.
        sentence_index (Tensor, optional): Long (B,), the position in
            ``words`` of the token ``sentence`` was read from: 0 for BEiT-3's
            text CLS, the EOT position for CLIP's causal tower.
        backbone_visual (list[Tensor], optional): The backbone's own visual
            list, kept by :class:`~mmris.models.segmentors.RefSegmentor` when
            a neck replaces ``visual`` (skip connections for heads such as
            RISCLIP's refiner).
        extras (dict): Method-specific signals. Keys used in mmris:
            ``'grounding_map'`` (B, 1, h, w) logits (RISCLIP),
            ``'shared_visual'`` (B, d, h, w) and ``'shared_words'`` (B, L, d)
            (RISCLIP's shared embedding space), ``'asda_selection'`` (ASDA's
            chosen layers).
    """

    visual: List[Tensor]
    words: Tensor
    word_pad_mask: Tensor
    sentence: Tensor
    visual_cls: Optional[List[Tensor]] = None
    word_levels: Optional[List[Tensor]] = None
    joint_levels: Optional[List[Tensor]] = None
    sentence_index: Optional[Tensor] = None
    backbone_visual: Optional[List[Tensor]] = None
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
        for name in ('visual_cls', 'word_levels', 'joint_levels'):
            levels = getattr(self, name)
            if levels is not None and len(levels) != len(self.visual):
                raise ValueError(
                    f'VLFeatures.{name} must have one entry per visual level '
                    f'({len(self.visual)}), got {len(levels)}')
        if self.word_levels is not None:
            for i, w in enumerate(self.word_levels):
                if w.dim() != 3 or tuple(w.shape[:2]) != tuple(
                        self.words.shape[:2]):
                    raise ValueError(
                        f'VLFeatures.word_levels[{i}] must be (B, L, C) with '
                        f'(B, L)={tuple(self.words.shape[:2])}, got '
                        f'{tuple(w.shape)}')
        if self.sentence_index is not None and (
                self.sentence_index.shape != (batch, )
                or self.sentence_index.dtype != torch.long):
            raise ValueError(
                'VLFeatures.sentence_index must be a long (B,) tensor with '
                f'B={batch}, got {self.sentence_index.dtype} '
                f'{tuple(self.sentence_index.shape)}')

    @property
    def batch_size(self) -> int:
        """Number of samples in the batch."""
        return self.visual[0].shape[0]

    @property
    def word_valid_mask(self) -> Tensor:
        """Bool (B, L), True at real tokens (the negation of the pad mask)."""
        return ~self.word_pad_mask

    def words_at(self, level: int) -> Tensor:
        """Word features for visual level ``level``: ``word_levels[level]``
        when the backbone fills them, else the final ``words``."""
        if self.word_levels is None:
            return self.words
        return self.word_levels[level]

    def replace(self, **changes: Any) -> 'VLFeatures':
        """Return a copy with the given fields replaced (used by necks)."""
        return replace(self, **changes)
