"""The CLIP text transformer, cut to the expression length.

Used by the CLIP-based methods (CRIS Sec. 3.1, ASDA Sec. 3.1, RISCLIP
Sec. 3.1): word features are the ``ln_final`` outputs of every token, the
sentence feature the output at the end-of-text token, optionally projected
by ``text_projection`` (CRIS) or not (ASDA's public code).
"""
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from mmris.models.utils.checkpoint import checkpoint_call

__all__ = ['CLIPTextEncoder']


class CLIPTextEncoder(nn.Module):
    """CLIP text tower with a causal mask of length ``context_length``.

    Module names follow CLIP's (``token_embedding``, ``positional_embedding``,
    ``transformer.resblocks.*``, ``ln_final``, ``text_projection``) so that
    CLIP and released RIS checkpoints map onto it by prefix.

    Args:
        clip_model (nn.Module): An ``open_clip.model.CLIP``; its text modules
            are taken over (not copied).
        context_length (int): Text length L (<= CLIP's 77).
        project_sentence (bool): Multiply the EOT feature by
            ``text_projection``. Defaults to True.
    """

    def __init__(self,
                 clip_model: nn.Module,
                 context_length: int,
                 project_sentence: bool = True) -> None:
        super().__init__()
        max_len = clip_model.positional_embedding.shape[0]
        if not 2 <= context_length <= max_len:
            raise ValueError(f'context_length must be in [2, {max_len}], '
                             f'got {context_length}')
        self.context_length = context_length
        self.token_embedding = clip_model.token_embedding
        self.positional_embedding = nn.Parameter(
            clip_model.positional_embedding.detach()[:context_length].clone())
        self.transformer = clip_model.transformer
        self.ln_final = clip_model.ln_final
        self.project_sentence = project_sentence
        self.text_projection = (
            clip_model.text_projection if project_sentence else None)
        self.register_buffer(
            'attn_mask',
            torch.full((context_length, context_length),
                       float('-inf')).triu_(1),
            persistent=False)

    def _load_from_state_dict(self, state_dict, prefix, *args,
                              **kwargs) -> None:
        """Read the first ``context_length`` rows of a longer text
        positional embedding (CLIP's 77-row table, as the public CRIS code
        saves it: its forward reads ``positional_embedding[:L]``)."""
        key = prefix + 'positional_embedding'
        pos = state_dict.get(key)
        if (isinstance(pos, Tensor) and pos.dim() == 2
                and pos.shape[0] > self.context_length
                and pos.shape[1] == self.positional_embedding.shape[1]):
            state_dict[key] = pos[:self.context_length]
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @property
    def width(self) -> int:
        """Width of the word features."""
        return self.positional_embedding.shape[1]

    @property
    def sentence_dims(self) -> int:
        """Width of the sentence feature."""
        proj = self.text_projection
        if proj is None:
            return self.width
        return proj.out_features if isinstance(proj,
                                               nn.Linear) else proj.shape[1]

    def forward_layers(self, ids: Tensor, layer_ids: Sequence[int]
                       ) -> Tuple[Tensor, Tensor, List[Tensor]]:
        """Encode token ids and keep the EOT token of some layers.

        ASDA's public code (``model/model.py`` 367-374) scores the layers
        for its adaptive selection with the EOT token of the text layer run
        alongside each image layer, before ``ln_final``.

        Args:
            ids (Tensor): (B, L) CLIP token ids, EOT at ``argmax``.
            layer_ids (Sequence[int]): 0-based text transformer layers.

        Returns:
            tuple: Word features (B, L, width), the sentence feature
            (B, sentence_dims) (as :meth:`forward`) and, per entry of
            ``layer_ids``, the EOT token after that layer (B, width), before
            ``ln_final``.
        """
        depth = len(self.transformer.resblocks)
        if any(not 0 <= i < depth for i in layer_ids):
            raise ValueError(f'text layer ids {tuple(layer_ids)} out of range '
                             f'for a {depth}-layer text transformer')
        x = self.token_embedding(ids) + self.positional_embedding
        eot = ids.argmax(dim=-1)
        batch = torch.arange(ids.shape[0], device=ids.device)
        mask = self.attn_mask.to(x.dtype)
        batch_first = getattr(self.transformer, 'batch_first', True)
        if not batch_first:
            x = x.transpose(0, 1)
        levels = {}
        for i, block in enumerate(self.transformer.resblocks):
            x = checkpoint_call(
                block, x, None, None, mask,
                enabled=(self.training
                         and getattr(self.transformer, 'grad_checkpointing',
                                     False)))
            if i in layer_ids:
                y = x if batch_first else x.transpose(0, 1)
                levels[i] = y[batch, eot]
        if not batch_first:
            x = x.transpose(0, 1)
        words, sentence = self._finish(x, ids)
        return words, sentence, [levels[i] for i in layer_ids]

    def _finish(self, x: Tensor, ids: Tensor) -> Tuple[Tensor, Tensor]:
        """Words (``ln_final``) and the (projected) EOT sentence feature."""
        words = self.ln_final(x)
        sentence = words[torch.arange(ids.shape[0]), ids.argmax(dim=-1)]
        if self.text_projection is not None:
            if isinstance(self.text_projection, nn.Linear):
                sentence = self.text_projection(sentence)
            else:
                sentence = sentence @ self.text_projection
        return words, sentence

    def forward(self, ids: Tensor) -> Tuple[Tensor, Tensor]:
        """Encode token ids.

        Args:
            ids (Tensor): (B, L) CLIP token ids, EOT at ``argmax``.

        Returns:
            tuple[Tensor, Tensor]: Word features (B, L, width) and the
            sentence feature (B, sentence_dims).
        """
        if ids.shape[1] != self.context_length:
            raise ValueError(f'expected {self.context_length} tokens, got '
                             f'{ids.shape[1]}')
        x = self.token_embedding(ids) + self.positional_embedding
        x = self.transformer(x, attn_mask=self.attn_mask.to(x.dtype))
        return self._finish(x, ids)
