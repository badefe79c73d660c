"""CLIP ViT image tower with per-layer taps, plus the CLIP text tower.

Used by ASDA (Sec. 3.2: "layer-wise visual features F_V^(i)" and the class
token of each layer "f_C^(i)", the word features f_T and the [EOS] sentence
feature f_E) and reusable by any method that reads intermediate ViT layers
(RISCLIP). The image tower runs at a resolution other than CLIP's 224: the
positional embedding becomes a new trainable parameter of
``1 + (img_size / patch)^2`` rows, initialised by resizing CLIP's grid
(ASDA's public code: bilinear, 14x14 -> 26x26 at 416) and keeping the CLS
row.

Only the modules that the forward pass uses are kept (no ``ln_post``, no
visual projection, no blocks after the deepest tapped layer, no text
projection when ``project_sentence=False``), so that distributed training
needs no ``find_unused_parameters``.
"""
import math
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmris.models.utils import (CLIPTokenizer, build_open_clip,
                                checkpoint_call)
from mmris.models.utils.open_clip_utils import check_layer_ids, require_vit
from mmris.registry import MODELS
from mmris.structures import FeatureSpec, LevelSpec, VLFeatures
from .clip_text_encoder import CLIPTextEncoder

__all__ = ['CLIPViT', 'resize_pos_embed']


def resize_pos_embed(pos_embed: Tensor,
                     grid_size: Tuple[int, int],
                     mode: str = 'bilinear',
                     num_prefix_tokens: int = 1) -> Tensor:
    """Resize a ViT positional embedding to a new patch grid.

    Args:
        pos_embed (Tensor): (N_prefix + G*G, C) embedding of a square grid.
        grid_size (tuple[int, int]): New grid (h, w).
        mode (str): Interpolation mode ('bilinear', 'bicubic', ...).
        num_prefix_tokens (int): Leading rows (CLS) kept unchanged.

    Returns:
        Tensor: (N_prefix + h*w, C).
    """
    prefix = pos_embed[:num_prefix_tokens]
    grid = pos_embed[num_prefix_tokens:]
    old = int(math.sqrt(grid.shape[0]))
    if old * old != grid.shape[0]:
        raise ValueError(f'positional embedding grid of {grid.shape[0]} rows '
                         'is not square')
    if (old, old) == tuple(grid_size):
        return pos_embed.clone()
    grid = grid.reshape(1, old, old, -1).permute(0, 3, 1, 2)
    kwargs = {} if mode == 'nearest' else dict(align_corners=False)
    grid = F.interpolate(grid.float(), size=tuple(grid_size), mode=mode,
                         **kwargs)
    grid = grid.permute(0, 2, 3, 1).reshape(-1, pos_embed.shape[1])
    return torch.cat([prefix, grid.to(pos_embed.dtype)], dim=0)


@MODELS.register_module()
class CLIPViT(BaseModule):
    """CLIP ViT image encoder with layer taps and the CLIP text encoder.

    Args:
        model_name (str): open_clip model name. Defaults to 'ViT-B-16'.
        pretrained (str, optional): Local CLIP checkpoint or cached open_clip
            tag; None gives random weights.
        model_cfg (dict, optional): open_clip ``CLIP`` config (any size,
            random weights); takes precedence over ``model_name``.
        img_size (int | tuple[int, int]): Network input size. Defaults to
            416 (26x26 tokens with patch 16, ASDA Sec. 4.2).
        context_length (int): Text length (17 RefCOCO/+, 22 RefCOCOg).
        out_indices (Sequence[int]): 0-based transformer layer ids whose
            outputs are returned, shallow to deep (paper layer ``i`` is id
            ``i - 1``). Defaults to ``(3, 4, 5, 6, 7, 8, 11)``: ASDA's low
            candidates 4-6, mid candidates 7-9 and the top layer 12.
        project_sentence (bool): Multiply the EOT feature by CLIP's
            ``text_projection``. ASDA: False (512-d, no projection).
        sentence_levels (bool): Also return, for every tapped layer id
            ``i``, the text tower's EOT token after its layer ``i`` (before
            ``ln_final``) in ``extras['sentence_levels']`` (a list aligned
            with ``visual``). ASDA's public code scores its layer selection
            with these (``model/model.py`` 367-374). Defaults to False.
        interpolate (str): Mode used to resize the positional embedding.
            Defaults to 'bilinear'.
        freeze_visual (bool): Stop gradients to the image tower.
        freeze_text (bool): Stop gradients to the text tower.
        with_cp (bool): Activation checkpointing of every block of both
            towers while training
            (:func:`~mmris.models.utils.checkpoint_call`; open_clip's
            ``grad_checkpointing`` in the text tower): less memory, about
            one more forward pass of compute; outputs and gradients
            unchanged. Defaults to False.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 model_name: str = 'ViT-B-16',
                 pretrained: Optional[str] = None,
                 model_cfg: Optional[dict] = None,
                 img_size=416,
                 context_length: int = 17,
                 out_indices: Sequence[int] = (3, 4, 5, 6, 7, 8, 11),
                 project_sentence: bool = False,
                 sentence_levels: bool = False,
                 interpolate: str = 'bilinear',
                 freeze_visual: bool = False,
                 freeze_text: bool = False,
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.with_cp = with_cp
        clip = build_open_clip(model_name, pretrained, model_cfg)
        visual = require_vit(clip, 'CLIPViT')
        blocks = visual.transformer.resblocks
        out_indices = check_layer_ids(out_indices, len(blocks))
        self.out_indices = out_indices
        if isinstance(img_size, int):
            img_size = (img_size, img_size)
        self.img_size = tuple(img_size)
        patch = visual.conv1.kernel_size
        if self.img_size[0] % patch[0] or self.img_size[1] % patch[1]:
            raise ValueError(f'img_size {self.img_size} is not a multiple of '
                             f'the patch size {patch}')
        self.patch_size = tuple(patch)
        self.grid_size = (self.img_size[0] // patch[0],
                          self.img_size[1] // patch[1])

        self.conv1 = visual.conv1
        self.class_embedding = visual.class_embedding
        self.positional_embedding = nn.Parameter(
            resize_pos_embed(visual.positional_embedding.detach(),
                             self.grid_size, interpolate))
        self.ln_pre = visual.ln_pre
        self.resblocks = nn.ModuleList(list(blocks)[:out_indices[-1] + 1])
        self.batch_first = getattr(visual.transformer, 'batch_first', True)
        self.width = visual.class_embedding.shape[0]

        self.tokenizer = CLIPTokenizer(context_length)
        self.text = CLIPTextEncoder(clip, context_length, project_sentence)
        # open_clip's own switch (honoured by its Transformer.forward and by
        # CLIPTextEncoder.forward_layers), on in training mode only: train()
        self.text.transformer.grad_checkpointing = with_cp
        self.sentence_levels = sentence_levels
        text_depth = len(self.text.transformer.resblocks)
        if sentence_levels and out_indices[-1] >= text_depth:
            raise ValueError(
                f'sentence_levels=True pairs image layer i with text layer i, '
                f'but out_indices {out_indices} exceed the {text_depth}-layer '
                'text transformer')
        self.freeze_visual = freeze_visual
        self.freeze_text = freeze_text
        self._freeze()

    def _freeze(self) -> None:
        visual = [self.conv1, self.ln_pre, self.resblocks]
        if self.freeze_visual:
            for module in visual:
                module.eval()
                for param in module.parameters():
                    param.requires_grad = False
            self.class_embedding.requires_grad = False
            self.positional_embedding.requires_grad = False
        if self.freeze_text:
            self.text.eval()
            for param in self.text.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'CLIPViT':
        """Set the mode; frozen towers stay in eval mode."""
        super().train(mode)
        self._freeze()
        self.text.transformer.grad_checkpointing = self.with_cp and mode
        return self

    @property
    def text_dims(self) -> int:
        """Width of the word features."""
        return self.text.width

    def output_spec(self) -> FeatureSpec:
        """One level per tapped layer: ``width`` channels at the patch
        stride, each with its CLS token; EOT sentence index filled."""
        level = LevelSpec(self.width, self.patch_size[0], has_cls=True)
        return FeatureSpec(
            visual=(level, ) * len(self.out_indices),
            word_dims=self.text.width,
            sentence_dims=self.text.sentence_dims,
            has_sentence_index=True,
            extras=('visual_layer_ids', ) +
            (('sentence_levels', ) if self.sentence_levels else ()),
            img_size=self.img_size,
            source='CLIPViT')

    def forward_visual(self, images: Tensor) -> Tuple[List[Tensor],
                                                       List[Tensor]]:
        """Patch maps and CLS tokens of the tapped layers.

        Args:
            images (Tensor): (B, 3, H, W) normalised images, H and W multiples
                of the patch size (usually ``img_size``).

        Returns:
            tuple[list[Tensor], list[Tensor]]: Per tapped layer the patch
            map (B, C, H/P, W/P) and the CLS token (B, C), before ``ln_post``.
        """
        x = self.conv1(images)
        b, c, h, w = x.shape
        x = x.flatten(2).transpose(1, 2)
        cls = self.class_embedding.to(x.dtype).expand(b, 1, -1)
        x = torch.cat([cls, x], dim=1)
        pos = self.positional_embedding
        if (h, w) != self.grid_size:
            pos = resize_pos_embed(pos, (h, w), 'bilinear')
        x = self.ln_pre(x + pos.to(x.dtype))
        if not self.batch_first:
            x = x.transpose(0, 1)
        maps, tokens = [], []
        for i, block in enumerate(self.resblocks):
            x = checkpoint_call(block, x,
                                enabled=self.with_cp and self.training)
            if i in self.out_indices:
                y = x if self.batch_first else x.transpose(0, 1)
                tokens.append(y[:, 0])
                maps.append(y[:, 1:].transpose(1, 2).reshape(b, c, h, w))
        return maps, tokens

    def forward(self, images: Tensor, texts: Sequence[str]) -> VLFeatures:
        """Encode a batch of images and their expressions.

        Args:
            images (Tensor): (B, 3, H, W) normalised images.
            texts (Sequence[str]): B expressions.

        Returns:
            VLFeatures: ``visual`` / ``visual_cls`` for ``out_indices`` (in
            that order), ``words`` (B, L, C_t), ``word_pad_mask``,
            ``sentence`` (B, C_s), ``extras['visual_layer_ids']`` and,
            with ``sentence_levels=True``, ``extras['sentence_levels']``
            (list of (B, C_t), one per entry of ``visual``).
        """
        if len(texts) != images.shape[0]:
            raise ValueError(f'{images.shape[0]} images but {len(texts)} '
                             'expressions')
        ids, pad_mask = self.tokenizer(texts)
        ids, pad_mask = ids.to(images.device), pad_mask.to(images.device)
        extras = dict(visual_layer_ids=self.out_indices)
        if self.sentence_levels:
            words, sentence, levels = self.text.forward_layers(
                ids, self.out_indices)
            extras['sentence_levels'] = levels
        else:
            words, sentence = self.text(ids)
        maps, tokens = self.forward_visual(images)
        return VLFeatures(
            visual=maps,
            words=words,
            word_pad_mask=pad_mask,
            sentence=sentence,
            visual_cls=tokens,
            sentence_index=ids.argmax(dim=-1),
            extras=extras)
