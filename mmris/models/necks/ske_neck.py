"""Shared-space Knowledge Exploitation + patch-level grounding map.

RISCLIP Sec. 3.1 ("Patch-level grounding map") and Sec. 3.3 (SKE), Table A1,
Tables 4-5: ``num_layers`` :class:`~mmris.models.layers.SKELayer` s on top of
the encoders, in CLIP's image-text shared space, then the grounding map

    map_patch = tau_g * cos(V_patch, t_eos) + b_g

as logits (B, 1, h, w); the paper sigmoids the cosine directly, which can
reach neither 0 nor 1, so a learnable scale (log-parametrised, init 10) and
bias (init 0) are added (reading A10). ``num_layers=0`` is the plain CLIP
grounding of Table 3's first rows (MaskCLIP features, no SKE).

Inputs: the shared-space patches and words from the backbone
(``extras['shared_visual']`` (B, d, h, w), ``extras['shared_words']``
(B, L, d)) and the EOT positions ``sentence_index``. For a backbone that does
not provide them (its ``output_spec()`` declares no ``shared_visual``),
``in_channels`` / ``word_dims`` (taken from ``in_spec`` when left out) add
learned projections of ``visual[-1]`` and ``words`` into an ``embed_dims``
space, and the sentence token is the last real word when the backbone gives
no ``sentence_index``.

Output: the input container with ``extras['grounding_map']`` (logits),
``backbone_visual`` (the input ``visual`` list, which the Refiner reads),
``visual`` = input maps + the SKE'd patch map (B, d, h, w), ``words`` = the
SKE'd words (B, L, d), ``sentence`` = the SKE'd t_eos (B, d) and
``sentence_index``.
"""
import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmris.models.layers import SKELayer
from mmris.registry import MODELS
from mmris.structures import (FeatureSpec, LevelSpec, SpecMismatchError,
                              VLFeatures, resolve_arg)
from .base_ris_neck import BaseRISNeck

__all__ = ['SKENeck']


@MODELS.register_module()
class SKENeck(BaseRISNeck):
    """SKE layers and the patch-level grounding map.

    Args:
        embed_dims (int, optional): Shared-space width d (640 for RISCLIP-B,
            768 for RISCLIP-L); from ``in_spec``'s ``shared_visual`` when
            left out.
        num_layers (int): SKE layers. Defaults to 6 (Table 5c).
        num_heads (int): Attention heads. Defaults to 8 (Table A1).
        mlp_ratio (float): MLP width / d. Defaults to 4.
        scale_init (float): Residual scaler init. Defaults to 0.5.
        fusion (str): Cross-modal step ('mhca' or a Table 4 variant).
        grounding_scale_init (float): Initial cosine scale. Defaults to 10.
        grounding_bias_init (float): Initial bias. Defaults to 0.
        in_channels (int, optional): Width of ``visual[-1]``; set it to
            project the backbone's last map instead of reading
            ``extras['shared_visual']``.
        word_dims (int, optional): Width of ``words``; set it to project
            them instead of reading ``extras['shared_words']``.
        in_spec (FeatureSpec, optional): Declared input (set by
            :class:`RefSegmentor`): fills ``embed_dims`` from a backbone
            with shared-space extras, else ``in_channels`` / ``word_dims``
            (projection mode).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 embed_dims: Optional[int] = None,
                 num_layers: int = 6,
                 num_heads: int = 8,
                 mlp_ratio: float = 4.0,
                 scale_init: float = 0.5,
                 fusion: str = 'mhca',
                 grounding_scale_init: float = 10.0,
                 grounding_bias_init: float = 0.0,
                 in_channels: Optional[int] = None,
                 word_dims: Optional[int] = None,
                 in_spec: Optional[FeatureSpec] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        shared = None
        if in_spec is not None:
            shared = in_spec.extra_dim('shared_visual')
            if shared is None:  # another backbone: project its features
                in_channels = resolve_arg('SKENeck', 'in_channels',
                                          in_channels,
                                          in_spec.level(-1).channels)
                word_dims = resolve_arg('SKENeck', 'word_dims', word_dims,
                                        in_spec.word_dims)
            elif in_channels is not None or word_dims is not None:
                raise SpecMismatchError(
                    'SKENeck: in_channels / word_dims project the backbone '
                    'features, but the backbone gives shared-space extras '
                    f'({shared}-d); leave them out')
        embed_dims = resolve_arg(
            'SKENeck', 'embed_dims', embed_dims,
            shared if in_channels is None else None)
        if num_layers < 0:
            raise ValueError(f'num_layers must be >= 0, got {num_layers}')
        if grounding_scale_init <= 0:
            raise ValueError('grounding_scale_init must be positive, got '
                             f'{grounding_scale_init}')
        self.embed_dims = embed_dims
        self.visual_proj = (nn.Linear(in_channels, embed_dims)
                            if in_channels is not None else None)
        self.word_proj = (nn.Linear(word_dims, embed_dims)
                          if word_dims is not None else None)
        self.layers = nn.ModuleList([
            SKELayer(embed_dims, num_heads, mlp_ratio, scale_init, fusion)
            for _ in range(num_layers)
        ])
        self.grounding_log_scale = nn.Parameter(
            torch.tensor(math.log(grounding_scale_init)))
        self.grounding_bias = nn.Parameter(
            torch.tensor(float(grounding_bias_init)))
        self._out_spec = None
        if in_spec is not None:
            stride = in_spec.level(-1).stride
            self._out_spec = in_spec.replace(
                visual=tuple(in_spec.visual) + (LevelSpec(embed_dims,
                                                          stride), ),
                word_dims=embed_dims,
                sentence_dims=embed_dims,
                word_level_dims=None,
                has_joint=False,
                has_sentence_index=True,
                extras=tuple(in_spec.extras) + ('grounding_map', ),
                source='SKENeck')

    def output_spec(self) -> Optional[FeatureSpec]:
        """Input levels + the SKE'd map (d channels, same stride); words
        and sentence in d; ``extras['grounding_map']``."""
        return self._out_spec

    def _inputs(self, feats: VLFeatures):
        extras = feats.extras
        if self.visual_proj is not None:
            patches = self.visual_proj(feats.visual[-1].flatten(2).transpose(
                1, 2))
            size = feats.visual[-1].shape[-2:]
        elif 'shared_visual' in extras:
            shared = extras['shared_visual']
            patches = shared.flatten(2).transpose(1, 2)
            size = shared.shape[-2:]
        else:
            raise KeyError('SKENeck needs extras["shared_visual"] (from '
                           'RISCLIPBackbone) or in_channels to project '
                           'visual[-1]')
        if self.word_proj is not None:
            words = self.word_proj(feats.words)
        elif 'shared_words' in extras:
            words = extras['shared_words']
        else:
            raise KeyError('SKENeck needs extras["shared_words"] (from '
                           'RISCLIPBackbone) or word_dims to project words')
        for name, x in (('patches', patches), ('words', words)):
            if x.shape[-1] != self.embed_dims:
                raise ValueError(f'SKENeck: {name} have width {x.shape[-1]}'
                                 f', embed_dims is {self.embed_dims}')
        index = feats.sentence_index
        if index is None:  # last real token
            index = feats.word_valid_mask.long().sum(1) - 1
        return patches, tuple(size), words, index

    def grounding(self, patches: Tensor, sentence: Tensor,
                  size) -> Tensor:
        """``tau * cos(V_patch, t_eos) + b`` as (B, 1, h, w) logits."""
        cos = torch.einsum('bnc,bc->bn', F.normalize(patches, dim=-1),
                           F.normalize(sentence, dim=-1))
        logits = self.grounding_log_scale.exp() * cos + self.grounding_bias
        return logits.reshape(patches.shape[0], 1, *size)

    def forward(self, feats: VLFeatures) -> VLFeatures:
        """Run SKE and compute the grounding map.

        Args:
            feats (VLFeatures): Backbone features (see the module docstring).

        Returns:
            VLFeatures: With ``extras['grounding_map']`` (B, 1, h, w) logits.
        """
        patches, size, words, index = self._inputs(feats)
        pad = feats.word_pad_mask
        for layer in self.layers:
            patches, words = layer(patches, words, pad)
        b = patches.shape[0]
        sentence = words[torch.arange(b, device=words.device), index]
        grounding = self.grounding(patches, sentence, size)
        ske_map = patches.transpose(1, 2).reshape(b, -1, *size)
        extras = dict(feats.extras)
        extras.update(grounding_map=grounding)
        return feats.replace(
            visual=list(feats.visual) + [ske_map],
            words=words,
            sentence=sentence,
            sentence_index=index,
            visual_cls=None,
            word_levels=None,
            joint_levels=None,
            backbone_visual=feats.backbone_visual or list(feats.visual),
            extras=extras)
