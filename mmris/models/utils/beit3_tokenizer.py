"""BEiT-3's text tokenisation (XLM-R sentencepiece) with a fixed length.

Shared-RIS Sec. III-A, Eq. 2: the expression is tokenised with
SentencePiece and framed as ``[t_cls, t_1 .. t_m, t_eot]``. BEiT-3 uses a
64k-piece sentencepiece model, ``beit3.spm``, through transformers'
``XLMRobertaTokenizer``, whose id mapping (fairseq's) is reproduced here with
the ``sentencepiece`` package alone: ``<s>`` (the text CLS) = 0,
``<pad>`` = 1, ``</s>`` (end) = 2, ``<unk>`` = 3, and every other piece gets
its sentencepiece id + 1. Like the official ``_get_text_segment``
(``beit3/datasets.py``), expressions longer than ``context_length - 2``
pieces are cut, and the end token is always kept.
"""
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import torch
from torch import Tensor

__all__ = ['BEiT3Tokenizer']

#: Where the official sentencepiece model is published (BEiT-3 README).
BEIT3_SPM_URL = ('https://github.com/addf400/files/releases/download/'
                 'beit3/beit3.spm')


class BEiT3Tokenizer:
    """Tokenise expressions to ``context_length`` BEiT-3 token ids.

    The sentencepiece model is read on first use, so that a model can be
    built (and driven with token ids) without the file.

    Args:
        spm_path (str): Local path of ``beit3.spm``.
        context_length (int): Text length L including the start and end
            tokens (Shared-RIS: 20 by default; BEiT-3's own default is 64).
    """

    bos_token_id = 0
    pad_token_id = 1
    eos_token_id = 2
    unk_token_id = 3
    #: fairseq's offset between sentencepiece ids and model ids.
    offset = 1

    def __init__(self, spm_path: Optional[str],
                 context_length: int = 20) -> None:
        if context_length < 3:
            raise ValueError('context_length must hold the start and end '
                             f'tokens and one word, got {context_length}')
        self.spm_path = spm_path
        self.context_length = int(context_length)
        self._sp = None

    @property
    def sp(self):
        """The loaded ``sentencepiece.SentencePieceProcessor``."""
        if self._sp is None:
            self._sp = self._load()
        return self._sp

    def _load(self):
        try:
            import sentencepiece
        except ImportError as err:  # pragma: no cover - declared dependency
            raise ImportError('BEiT-3 tokenisation needs the sentencepiece '
                              'package: pip install sentencepiece') from err
        if self.spm_path is None or not osp.isfile(self.spm_path):
            raise FileNotFoundError(
                f'BEiT-3 sentencepiece model not found at '
                f'"{osp.abspath(self.spm_path or "")}" (backbone '
                f'tokenizer spm_path). Download beit3.spm from '
                f'{BEIT3_SPM_URL} and set model.backbone.spm_path to it, or '
                'call the backbone with token ids (token_ids=..., '
                'padding_mask=...).')
        return sentencepiece.SentencePieceProcessor(model_file=self.spm_path)

    @property
    def vocab_size(self) -> int:
        """Number of model ids (pieces + 1, plus ``<mask>``)."""
        return len(self.sp) + self.offset + 1

    def encode(self, text: str) -> List[int]:
        """Model ids of one text, without start / end tokens or padding."""
        ids = self.sp.encode(text, out_type=int)
        return [i + self.offset if i else self.unk_token_id for i in ids]

    def __call__(self, texts: Sequence[str]) -> Tuple[Tensor, Tensor]:
        """Tokenise a batch of expressions.

        Args:
            texts (Sequence[str]): B non-empty expressions.

        Returns:
            tuple[Tensor, Tensor]: Ids (B, L) long, ``[0, ..., 2, 1, 1]``, and
            the pad mask (B, L) bool, True at padding.
        """
        if isinstance(texts, str):
            texts = [texts]
        length = self.context_length
        ids = torch.full((len(texts), length), self.pad_token_id,
                         dtype=torch.long)
        for i, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                raise ValueError(
                    f'expression {i} of the batch is empty ({text!r}); RIS '
                    'needs a referring expression for every sample.')
            pieces = self.encode(text)[:length - 2]
            row = [self.bos_token_id] + pieces + [self.eos_token_id]
            ids[i, :len(row)] = torch.tensor(row)
        return ids, ids == self.pad_token_id

    def decode(self, ids: Tensor) -> List[str]:
        """Text of id rows (start, end and pad tokens removed)."""
        special = {self.bos_token_id, self.pad_token_id, self.eos_token_id}
        out = []
        for row in ids.tolist():
            pieces = [i - self.offset for i in row if i not in special
                      and i != self.unk_token_id]
            out.append(self.sp.decode(pieces))
        return out
