"""A tiny vision-language backbone and head for tests and debugging.

Not a published method: a few strided convolutions, a word-embedding table
over the CLIP BPE vocabulary and a FiLM-style head. It follows the same
feature contract as the real methods (:class:`VLFeatures`), so tests of the
data path, tools and evaluation run in seconds on a CPU. Configs that use it
import it with ``custom_imports = dict(imports=['mmris.testing'])``.
"""
from typing import List, Sequence

import torch
import torch.nn as nn
from torch import Tensor

from mmris.models.heads import BaseRISHead
from mmris.models.utils import CLIPTokenizer
from mmris.registry import MODELS
from mmris.structures import VLFeatures

__all__ = ['ToyVLBackbone', 'ToyRISHead']


def _conv_gn_relu(cin: int, cout: int, stride: int) -> nn.Sequential:
    # GroupNorm, not BatchNorm: the toy model gives the same result whether
    # a batch is split across processes or not (tested with dist_train.sh).
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
        nn.GroupNorm(min(4, cout), cout), nn.ReLU(inplace=True))


@MODELS.register_module()
class ToyVLBackbone(nn.Module):
    """Strided conv pyramid + bag of word embeddings.

    Args:
        channels (Sequence[int]): Output channels of the visual levels; level
            i has stride 2^(i+2) (4, 8, 16, ...).
        text_dims (int): Word-feature width C_t (= sentence width).
        context_length (int): Text length L.
    """

    def __init__(self,
                 channels: Sequence[int] = (16, 32, 64),
                 text_dims: int = 32,
                 context_length: int = 17) -> None:
        super().__init__()
        self.tokenizer = CLIPTokenizer(context_length)
        stages: List[nn.Module] = []
        cin = 3
        for i, cout in enumerate(channels):
            stride = 4 if i == 0 else 2
            stages.append(_conv_gn_relu(cin, cout, stride))
            cin = cout
        self.stages = nn.ModuleList(stages)
        self.word_embed = nn.Embedding(self.tokenizer.vocab_size, text_dims)
        self.pos_embed = nn.Parameter(torch.zeros(context_length, text_dims))

    def forward(self, images: Tensor, texts: Sequence[str]) -> VLFeatures:
        """Encode images (B, 3, H, W) and B expressions."""
        ids, pad_mask = self.tokenizer(texts)
        ids, pad_mask = ids.to(images.device), pad_mask.to(images.device)
        words = self.word_embed(ids) + self.pos_embed
        valid = (~pad_mask).unsqueeze(-1).to(words.dtype)
        sentence = (words * valid).sum(1) / valid.sum(1)
        visual, x = [], images
        for stage in self.stages:
            x = stage(x)
            visual.append(x)
        return VLFeatures(
            visual=visual,
            words=words,
            word_pad_mask=pad_mask,
            sentence=sentence)


@MODELS.register_module()
class ToyRISHead(BaseRISHead):
    """Modulates one visual level by the sentence and predicts a mask.

    Args:
        in_channels (int): Channels of the visual level read.
        text_dims (int): Width of the sentence feature.
        in_index (int): Which visual level to read. Defaults to -1.
        channels (int): Hidden channels. Defaults to 32.
        **kwargs: Passed to :class:`BaseRISHead` (``loss_decode`` ...).
    """

    def __init__(self,
                 in_channels: int,
                 text_dims: int,
                 in_index: int = -1,
                 channels: int = 32,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.in_index = in_index
        self.proj = nn.Conv2d(in_channels, channels, 1)
        self.film = nn.Linear(text_dims, 2 * channels)
        self.out = nn.Sequential(
            _conv_gn_relu(channels + 2, channels, 1),
            nn.Conv2d(channels, 1, 1))

    def forward(self, feats: VLFeatures) -> Tensor:
        """Mask logits (B, 1, h, w) at the stride of the level read."""
        x = self.proj(feats.visual[self.in_index])
        gamma, beta = self.film(feats.sentence).chunk(2, dim=-1)
        x = torch.relu(x * (1 + gamma[..., None, None]) +
                       beta[..., None, None])
        b, _, h, w = x.shape
        ys = torch.linspace(-1, 1, h, device=x.device, dtype=x.dtype)
        xs = torch.linspace(-1, 1, w, device=x.device, dtype=x.dtype)
        grid_y, grid_x = torch.meshgrid(ys, xs, indexing='ij')
        coords = torch.stack([grid_x, grid_y]).expand(b, -1, -1, -1)
        return self.out(torch.cat([x, coords], dim=1))
