"""Adaptive Feature Selection (AFS) of ASDA (Sec. 3.3, Eq. 1-3).

For every candidate layer ``l`` a score token is formed from the layer's CLS
token and a text feature (Eq. 1)::

    score^l = f_E^l * Phi_T(f_C^l)        Phi_T: Linear(C_v -> C_t, no bias)

The public code (``model/model.py`` 367-374) takes for ``f_E^l`` the text
tower's EOT token after its layer ``l`` (before ``ln_final``), one per
candidate; the paper's text reads it as the final sentence feature f_E for
every layer. Both are accepted (a list of per-level features or one tensor).

and the adaptive selection network ``Phi_as`` (Eq. 2-3; Table 5: a Linear
layer per score token followed by a softmax over the candidates is best)
gives a distribution over the candidates, of which one layer per sample is
taken (hard choice in the forward pass).

The hard ``argmax`` of the paper passes no gradient, so in the authors'
public code ``Phi_T`` and ``Phi_as`` never train. ``selection`` chooses:

* ``'straight_through'`` (default): forward = the argmax layer, backward =
  the gradient of the softmax-weighted sum of the candidates.
* ``'gumbel'``: straight-through Gumbel-softmax while training (sampled
  choice), the argmax at evaluation.
* ``'argmax'``: the public code's behaviour (no gradient to the selector;
  needed to reproduce its checkpoints; with DDP this requires
  ``find_unused_parameters=True``).
"""
from typing import Dict, List, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

__all__ = ['AdaptiveFeatureSelection', 'build_selector', 'SELECTIONS']

#: Selection modes with a learnable selector.
SELECTIONS = ('straight_through', 'gumbel', 'argmax')


class _ConvSelector(nn.Module):
    """Table 5 'Conv': a 1-D convolution over the candidate axis."""

    def __init__(self, dims: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.conv = nn.Conv1d(dims, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, scores: Tensor) -> Tensor:
        # (B, K, C) -> (B, K, 1)
        return self.conv(scores.transpose(1, 2)).transpose(1, 2)


def build_selector(selector_type: str, dims: int) -> nn.Module:
    """Adaptive selection network ``Phi_as`` (Table 5 variants).

    Args:
        selector_type (str): 'linear' (paper's choice, Linear(C_t -> 1) per
            score token), 'mlp' (Linear-ReLU-Linear) or 'conv' (1-D conv of
            kernel 3 over the candidates).
        dims (int): Width C_t of the score tokens.

    Returns:
        nn.Module: Maps (B, K, C_t) score tokens to (B, K, 1) logits.
    """
    if selector_type == 'linear':
        return nn.Linear(dims, 1)
    if selector_type == 'mlp':
        return nn.Sequential(
            nn.Linear(dims, dims), nn.ReLU(inplace=True), nn.Linear(dims, 1))
    if selector_type == 'conv':
        return _ConvSelector(dims)
    raise ValueError(f'selector_type must be linear, mlp or conv, got '
                     f'{selector_type!r}')


class AdaptiveFeatureSelection(nn.Module):
    """Choose one visual level per sample from each candidate group.

    Args:
        in_channels (int): Width C_v of the CLS tokens.
        text_dims (int): Width C_t of the sentence feature.
        groups (Sequence[Sequence[int]]): Candidate indices into
            ``VLFeatures.visual`` for each group (ASDA: low, mid). Every group
            has its own ``Phi_as``; ``Phi_T`` is shared (Eq. 1 and 3 use the
            same Phi_T).
        selection (str): 'straight_through', 'gumbel' or 'argmax'.
        selector_type (str): 'linear', 'mlp' or 'conv' (Table 5).
        gumbel_tau (float): Temperature of the Gumbel-softmax.
    """

    def __init__(self,
                 in_channels: int,
                 text_dims: int,
                 groups: Sequence[Sequence[int]],
                 selection: str = 'straight_through',
                 selector_type: str = 'linear',
                 gumbel_tau: float = 1.0) -> None:
        super().__init__()
        if selection not in SELECTIONS:
            raise ValueError(f'selection must be one of {SELECTIONS}, got '
                             f'{selection!r}')
        self.groups = [tuple(int(i) for i in g) for g in groups]
        if any(len(g) == 0 for g in self.groups):
            raise ValueError(f'empty candidate group in {self.groups}')
        self.selection = selection
        self.gumbel_tau = gumbel_tau
        self.cls_proj = nn.Linear(in_channels, text_dims, bias=False)
        self.selectors = nn.ModuleList(
            [build_selector(selector_type, text_dims) for _ in self.groups])

    def scores(self, cls_tokens: List[Tensor],
               sentence: Union[Tensor, List[Tensor]], group: int) -> Tensor:
        """Selection logits of one group (Eq. 1 then ``Phi_as`` before the
        softmax).

        Args:
            cls_tokens (list[Tensor]): CLS tokens (B, C_v) of every level.
            sentence (Tensor | list[Tensor]): One text feature (B, C_t) for
                all levels, or one per level (aligned with ``cls_tokens``).
            group (int): Candidate group.

        Returns:
            Tensor: (B, K) logits over the group's candidates.
        """
        tokens = torch.stack([cls_tokens[i] for i in self.groups[group]], 1)
        if isinstance(sentence, (list, tuple)):
            text = torch.stack([sentence[i] for i in self.groups[group]], 1)
        else:
            text = sentence.unsqueeze(1)
        score = self.cls_proj(tokens) * text  # (B, K, C_t)
        return self.selectors[group](score).squeeze(-1)

    def _weights(self, logits: Tensor) -> Tuple[Tensor, Tensor]:
        """Hard one-hot choice (B, K) carrying the estimator's gradient."""
        probs = logits.softmax(dim=-1)
        if self.selection == 'gumbel' and self.training:
            soft = F.gumbel_softmax(logits, tau=self.gumbel_tau, hard=False)
        else:
            soft = probs
        index = soft.argmax(dim=-1)
        hard = F.one_hot(index, logits.shape[-1]).to(logits.dtype)
        if self.selection == 'argmax':
            return hard, index
        # Straight-through: exactly ``hard`` in value (soft - soft == 0).
        return hard + soft - soft.detach(), index

    def forward(self, maps: List[Tensor], cls_tokens: List[Tensor],
                sentence: Union[Tensor, List[Tensor]]
                ) -> Tuple[List[Tensor], Dict[str, Tensor]]:
        """Select one map per group and sample.

        Args:
            maps (list[Tensor]): Visual maps (B, C_v, H, W), all one shape
                within a group.
            cls_tokens (list[Tensor]): CLS tokens (B, C_v) of the same levels.
            sentence (Tensor | list[Tensor]): Sentence feature f_E (B, C_t),
                or one text feature per level (see :meth:`scores`).

        Returns:
            tuple: The selected map per group (B, C_v, H, W) and a dict with
            ``index`` (B, G) chosen positions within each group (long) and
            ``probs`` list of (B, K_g) softmax scores.
        """
        selected, indices, probs = [], [], []
        for g, group in enumerate(self.groups):
            logits = self.scores(cls_tokens, sentence, g)
            weights, index = self._weights(logits)
            stack = torch.stack([maps[i] for i in group], dim=1)
            if self.selection == 'argmax':
                feat = stack[torch.arange(stack.shape[0]), index]
            else:
                hard = stack[torch.arange(stack.shape[0]), index]
                # value of the extra term is exactly zero; it carries the
                # gradient of the soft weights to the selector.
                delta = (weights - weights.detach())
                feat = hard + (delta[:, :, None, None, None] * stack).sum(1)
            selected.append(feat)
            indices.append(index)
            probs.append(logits.softmax(dim=-1))
        info = dict(index=torch.stack(indices, dim=1), probs=probs)
        return selected, info
