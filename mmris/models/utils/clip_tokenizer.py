"""CLIP BPE tokenisation with a fixed text length and a pad mask.

The BPE vocabulary ships inside open_clip, so this works offline.
"""
from typing import List, Sequence, Tuple

import torch
from torch import Tensor

from .truncation import record_truncation

__all__ = ['CLIPTokenizer']


class CLIPTokenizer:
    """Tokenise expressions to ``context_length`` CLIP token ids.

    Expressions longer than ``context_length`` are truncated and the last
    kept token is replaced by the end-of-text token (counted, with one
    warning per run, by :func:`~mmris.models.utils.truncation.
    record_truncation`), so every row holds
    ``[SOT] ... [EOT]`` and the EOT position is ``argmax(ids)`` (EOT has the
    largest id of the vocabulary). Padding uses id 0.

    Args:
        context_length (int): Text length L (17 for RefCOCO/RefCOCO+ and 22
            for RefCOCOg in CRIS and ASDA; 77 for plain CLIP).
    """

    def __init__(self, context_length: int = 77) -> None:
        if context_length < 2:
            raise ValueError('context_length must hold at least the start '
                             f'and end tokens, got {context_length}')
        from open_clip.tokenizer import SimpleTokenizer
        self.context_length = context_length
        self._tokenizer = SimpleTokenizer()
        self.sot_token_id = self._tokenizer.sot_token_id
        self.eot_token_id = self._tokenizer.eot_token_id
        self.vocab_size = len(self._tokenizer.encoder)

    def __call__(self, texts: Sequence[str]) -> Tuple[Tensor, Tensor]:
        """Tokenise a batch of expressions.

        Args:
            texts (Sequence[str]): B expressions (non-empty).

        Returns:
            tuple[Tensor, Tensor]: Token ids (B, L) long and the pad mask
            (B, L) bool, True at padding.
        """
        if isinstance(texts, str):
            texts = [texts]
        for i, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                raise ValueError(
                    f'expression {i} of the batch is empty ({text!r}); RIS '
                    'needs a referring expression for every sample.')
        self._count_truncated(texts)
        ids = self._tokenizer(list(texts), context_length=self.context_length)
        return ids, ids == 0

    def _count_truncated(self, texts: Sequence[str]) -> None:
        """Report the expressions that do not fit in ``context_length``."""
        longest, cut = None, 0
        for text in texts:
            # quick bound: byte-level BPE gives at most one token per byte
            if len(text.encode('utf-8')) + 2 <= self.context_length:
                continue
            length = len(self._tokenizer.encode(text)) + 2  # SOT, EOT
            if length > self.context_length:
                cut += 1
                if longest is None or length > longest[1]:
                    longest = (text, length)
        record_truncation(
            type(self).__name__, cut, len(texts), self.context_length,
            *(longest or (None, None)))

    def decode(self, ids: Tensor) -> List[str]:
        """Decode token ids back to text (special tokens kept)."""
        return [
            self._tokenizer.decode([t for t in row.tolist() if t > 0])
            for row in ids
        ]
