"""The Shared Vision-Language FPN of Shared-RIS (Sec. III-B, Eq. 6-7).

For every tapped encoder stage j the joint vision-text sequence h_j is
projected to d_w channels (``W_j``), passed through one pre-LN shared
self-attention with a residual (Eq. 6: ``z_j = MSA(LN(h_j W_j)) + h_j W_j``),
and the K results are concatenated along channels and projected back to
d_w (Eq. 7: ``z = [z_1; ..; z_K] W_f``).

The neck builds each h_j itself from the contract's fields, vision tokens
first: the level's CLS token (``visual_cls``, when present and
``use_cls``), its patch map flattened row-major, then the level's words
(``word_levels``, else the final ``words``). On BEiT-3 this is exactly the
encoder's joint sequence; on a dual encoder (CLIP) it joins the two towers.
Padded words stay in the sequence as masked keys (their outputs are
ignored downstream).

``proj_per_modality`` gives W_j a vision and a text matrix (BEiT-3-style
multiway projection). It is required when the visual and word widths differ
(dual encoders) and is the Shared-RIS configs' choice: with it the neck has
8.41 M parameters at K = 4 (4.20 M at K = 2, 6.30 M at K = 3), matching
Tab. IV / VII(a)'s 8 M / 4 M / 6 M; one W_j per level (Eq. 6 read
literally) gives 6.83 M / 3.42 M / 5.13 M.
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmris.models.layers import JointAttention
from mmris.registry import MODELS
from mmris.structures import (FeatureSpec, LevelSpec, SpecMismatchError,
                              VLFeatures, resolve_arg)
from .base_ris_neck import BaseRISNeck

__all__ = ['SharedFPN', 'sentence_positions', 'joint_pad_mask']


def _per_level(value, n: int, name: str) -> Optional[Tuple[int, ...]]:
    if value is None:
        return None
    if isinstance(value, int):
        return (value, ) * n
    value = tuple(int(v) for v in value)
    if len(value) != n:
        raise ValueError(f'SharedFPN: {name}={value} needs one entry per '
                         f'level ({n})')
    return value


def sentence_positions(feats: VLFeatures, mode: str = 'auto') -> Tensor:
    """Index (B,) of the sentence token in ``feats.words``.

    Args:
        feats (VLFeatures): Features.
        mode (str): 'auto' (the producer's ``sentence_index`` when it fills
            one, else the first token), 'first' (BEiT-3's text CLS) or
            'last' (the last real token, CLIP's EOT).

    Returns:
        Tensor: Long (B,).
    """
    batch = feats.words.shape[0]
    device = feats.words.device
    index = feats.sentence_index
    if mode == 'auto' and index is not None:
        return index.to(device)
    if mode in ('auto', 'first'):
        return torch.zeros(batch, dtype=torch.long, device=device)
    if mode == 'last':
        return (~feats.word_pad_mask).long().sum(1).clamp(min=1) - 1
    raise ValueError(f"sentence_token must be 'auto', 'first' or 'last', "
                     f'got {mode!r}')


def joint_pad_mask(word_pad_mask: Tensor, num_visual: int) -> Tensor:
    """Key padding mask (B, num_visual + L) of a joint sequence."""
    return torch.cat([
        word_pad_mask.new_zeros(word_pad_mask.shape[0], num_visual),
        word_pad_mask
    ],
                     dim=1)


@MODELS.register_module()
class SharedFPN(BaseRISNeck):
    """Shared FPN: K joint sequences -> one fused joint sequence z.

    Args:
        in_channels (int | Sequence[int], optional): Visual widths of the
            input levels (all levels of ``visual``, or those in
            ``in_index``). Taken from ``in_spec`` when omitted.
        word_dims (int | Sequence[int], optional): Word widths per level.
            Taken from ``in_spec`` when omitted.
        in_index (Sequence[int], optional): Which visual levels to fuse
            (Tab. VII(a) varies the stages). Defaults to all.
        embed_dims (int): d_w. Defaults to 512.
        num_heads (int): Heads of each level's MSA. Defaults to 8.
        proj_per_modality (bool): Separate vision / text matrices in W_j
            (see the module docstring). Defaults to True.
        use_cls (bool): Put the level's vision CLS first in the sequence
            when the input has one. Defaults to True.
        grid_level (int): Level (within ``in_index``) whose grid the others
            are resized to (bilinear) when grids differ. Defaults to -1.
        sentence_token (str): Which output word is ``sentence``; see
            :func:`sentence_positions`. Defaults to 'auto'.
        fusion (str): 'self' (Eq. 6, one self-attention over the joint
            sequence), or Tab. VII(b)'s 'cross' / 'bidirectional' (see
            :class:`~mmris.models.layers.JointAttention`). Defaults to
            'self'.
        in_spec (FeatureSpec, optional): Declared input (fills omitted
            widths).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: Union[int, Sequence[int], None] = None,
                 word_dims: Union[int, Sequence[int], None] = None,
                 in_index: Optional[Sequence[int]] = None,
                 embed_dims: int = 512,
                 num_heads: int = 8,
                 proj_per_modality: bool = True,
                 use_cls: bool = True,
                 grid_level: int = -1,
                 sentence_token: str = 'auto',
                 fusion: str = 'self',
                 in_spec=None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_spec = in_spec
        if in_index is None:
            if in_spec is not None:
                in_index = tuple(range(len(in_spec.visual)))
            elif in_channels is not None and not isinstance(in_channels, int):
                in_index = tuple(range(len(in_channels)))
            else:
                raise ValueError('SharedFPN needs in_index, a per-level '
                                 'in_channels or an in_spec')
        if in_spec is not None:
            for i in in_index:
                in_spec.level(i)  # SpecMismatchError if the level is absent
        self.in_index = tuple(int(i) for i in in_index)
        n = len(self.in_index)
        if n < 1:
            raise ValueError('SharedFPN needs at least one level')
        derived_v = derived_w = None
        if in_spec is not None:
            derived_v = tuple(in_spec.level(i).channels for i in self.in_index)
            if in_spec.word_level_dims is not None:
                derived_w = tuple(in_spec.word_level_dims[i]
                                  for i in self.in_index)
            else:
                derived_w = (in_spec.word_dims, ) * n
        in_channels = resolve_arg('SharedFPN', 'in_channels',
                                  _per_level(in_channels, n, 'in_channels'),
                                  derived_v)
        word_dims = resolve_arg('SharedFPN', 'word_dims',
                                _per_level(word_dims, n, 'word_dims'),
                                derived_w)
        if not proj_per_modality and in_channels != word_dims:
            raise SpecMismatchError(
                f'SharedFPN: visual widths {in_channels} differ from word '
                f'widths {word_dims}; one W_j per level cannot project both '
                '(a dual encoder): set proj_per_modality=True')
        self.in_channels, self.word_dims = in_channels, word_dims
        self.embed_dims = embed_dims
        self.proj_per_modality = proj_per_modality
        self.use_cls = use_cls
        self.grid_level = grid_level
        self.sentence_token = sentence_token
        if sentence_token not in ('auto', 'first', 'last'):
            raise ValueError("sentence_token must be 'auto', 'first' or "
                             f"'last', got {sentence_token!r}")

        # W_j (Eq. 6): one matrix, or a vision and a text matrix per level
        self.visual_projs = nn.ModuleList(
            [nn.Linear(c, embed_dims) for c in in_channels])
        self.word_projs = nn.ModuleList(
            [nn.Linear(c, embed_dims)
             for c in word_dims]) if proj_per_modality else None
        # LN + MSA + residual per level (Eq. 6; Tab. VII(b) for the others)
        self.fusion = fusion
        self.fusions = nn.ModuleList([
            JointAttention(embed_dims, num_heads, fusion) for _ in range(n)
        ])
        # W_f (Eq. 7)
        self.fuse = nn.Linear(n * embed_dims, embed_dims)

    def output_spec(self) -> FeatureSpec:
        """Declared output: one d_w level (+CLS), d_w words and sentence."""
        spec = self.in_spec
        stride = spec.level(self.in_index[self.grid_level]).stride \
            if spec is not None else 16
        has_cls = self.use_cls and (spec is None or all(
            spec.level(i).has_cls for i in self.in_index))
        return FeatureSpec(visual=(LevelSpec(self.embed_dims,
                                             stride,
                                             has_cls=has_cls), ),
                           word_dims=self.embed_dims,
                           sentence_dims=self.embed_dims,
                           has_joint=True,
                           has_sentence_index=True,
                           img_size=None if spec is None else spec.img_size,
                           extras=() if spec is None else spec.extras,
                           source='neck SharedFPN')

    def _level_tokens(self, feats: VLFeatures, k: int, grid: Tuple[int, int],
                      with_cls: bool) -> Tuple[Tensor, Tensor]:
        """Projected vision tokens (B, n_v, d) and words (B, L, d)."""
        i = self.in_index[k]
        fmap = feats.visual[i]
        if tuple(fmap.shape[-2:]) != tuple(grid):
            fmap = F.interpolate(fmap,
                                 size=grid,
                                 mode='bilinear',
                                 align_corners=False)
        tokens = fmap.flatten(2).transpose(1, 2)
        if with_cls:
            tokens = torch.cat([feats.visual_cls[i][:, None], tokens], dim=1)
        words = feats.words_at(i)
        word_proj = (self.word_projs[k]
                     if self.proj_per_modality else self.visual_projs[k])
        return self.visual_projs[k](tokens), word_proj(words)

    def forward(self, feats: VLFeatures) -> VLFeatures:
        """Fuse the tapped levels (Eq. 6-7).

        Args:
            feats (VLFeatures): ``visual`` (B, C_i, H_i, W_i) at ``in_index``,
                optional ``visual_cls``, ``word_levels`` (or ``words``) and
                ``word_pad_mask``.

        Returns:
            VLFeatures: ``visual=[F]`` (B, d_w, H, W), ``visual_cls=[z_cls]``
            (when a CLS was used), ``words`` (B, L, d_w), ``sentence`` the
            word at ``sentence_index``, ``joint_levels=[z]``
            (B, [1 +] H*W + L, d_w), ``backbone_visual`` the input maps.
            ``extras`` are passed on.
        """
        ref = feats.visual[self.in_index[self.grid_level]]
        b, _, h, w = ref.shape
        with_cls = self.use_cls and feats.visual_cls is not None
        num_visual = h * w + int(with_cls)
        pad = joint_pad_mask(feats.word_pad_mask, num_visual)
        fused: List[Tensor] = []
        for k in range(len(self.in_index)):
            vis, words = self._level_tokens(feats, k, (h, w), with_cls)
            x = torch.cat([vis, words], dim=1)
            fused.append(self.fusions[k](x, num_visual, pad))
        z = self.fuse(torch.cat(fused, dim=-1))
        words = z[:, num_visual:]
        fmap = z[:, int(with_cls):num_visual].transpose(1, 2).reshape(
            b, self.embed_dims, h, w)
        index = sentence_positions(feats, self.sentence_token)
        changes = dict(visual=[fmap],
                       visual_cls=[z[:, 0]] if with_cls else None,
                       words=words,
                       word_levels=None,
                       joint_levels=[z],
                       sentence=words[torch.arange(b, device=z.device), index],
                       sentence_index=index,
                       backbone_visual=feats.backbone_visual or feats.visual)
        return feats.replace(**changes)
