"""Word-Guided Coefficient Generator (WCG) of ASDA (Sec. 3.4, Eq. 8-9).

As in the authors' public code (swagger-coder/ASDA at 97bc06c,
``model/model.py`` 294, 310-314, 424, 443-455): the words go through
Linear (no bias) + ReLU; the attention-refined visual tokens F_A attend to
them (Eq. 8, giving F_fine): a post-norm
:class:`~mmris.models.layers.TransformerLayer` with a cross-attention whose
query, key and value are Linear + ReLU projections and an FFN
(``model/transformer.py`` 17-54); the Gated Coefficient Generation (Eq. 9) maps F_fine to N_c
coefficients in (-1, 1): two 3x3 ConvModules (BN + LeakyReLU), a 3x3 conv
to N_c channels, a flatten in (H, W, N_c) order, a Linear without bias to
N_c and a tanh.

The public code attends to every word position, padding included
(``mask_padding=False``); ``mask_padding=True`` gives padded positions no
attention weight (the paper attends to "word-level" features).
"""
from typing import Optional, Tuple, Union

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch import Tensor

from mmris.models.layers import TransformerLayer

__all__ = ['WordGuidedCoefficientGenerator']

_PUBLIC_NORM_CFG = dict(type='BN', momentum=0.999)
_PUBLIC_ACT_CFG = dict(type='LeakyReLU', negative_slope=0.1)


class WordGuidedCoefficientGenerator(nn.Module):
    """Eq. 8-9: word-guided cross-attention and gated coefficients.

    Args:
        dims (int): Visual token width d. Defaults to 512.
        word_dims (int): Width C_t of the word features. Defaults to 512.
        num_heads (int): Attention heads. Defaults to 8.
        ffn_dims (int): MLP hidden width. Defaults to 2048 (public code).
        num_prototypes (int): N_c coefficients (Table 4). Defaults to 32.
        feat_size (int | tuple[int, int]): Token grid (H, W) of F_fine; the
            final Linear reads the flattened (H, W, N_c) map, so it is fixed
            by the input size (26 at 416 / patch 16). Only used when
            ``coef_pool='linear'``.
        coef_pool (str): 'linear' (flatten + Linear, public code) or 'avg'
            (spatial mean + Linear(N_c -> N_c), any input size).
        mask_padding (bool): Mask padded word positions. Defaults to False
            (public code).
        dropout (float): Attention / MLP dropout. Defaults to 0.1.
        coef_kernel_size (int): Kernel of the conv to N_c channels.
            Defaults to 3.
        norm_cfg (dict): Norm of the ConvModules.
        act_cfg (dict): Activation of the ConvModules.
        with_coef (bool): Build the coefficient generator (False: only the
            cross-attention, used by the single-branch ablation).
    """

    def __init__(self,
                 dims: int = 512,
                 word_dims: int = 512,
                 num_heads: int = 8,
                 ffn_dims: int = 2048,
                 num_prototypes: int = 32,
                 feat_size: Union[None, int, Tuple[int, int]] = 26,
                 coef_pool: str = 'linear',
                 mask_padding: bool = False,
                 dropout: float = 0.1,
                 coef_kernel_size: int = 3,
                 norm_cfg: dict = _PUBLIC_NORM_CFG,
                 act_cfg: dict = _PUBLIC_ACT_CFG,
                 with_coef: bool = True) -> None:
        super().__init__()
        if coef_pool not in ('linear', 'avg'):
            raise ValueError(f'coef_pool must be linear or avg, got '
                             f'{coef_pool!r}')
        if isinstance(feat_size, int):
            feat_size = (feat_size, feat_size)
        self.feat_size = tuple(feat_size) if feat_size is not None else None
        if with_coef and coef_pool == 'linear' and self.feat_size is None:
            raise ValueError('WCG with coef_pool="linear" needs feat_size '
                             '(the token grid of F_coarse)')
        self.coef_pool = coef_pool
        self.mask_padding = mask_padding
        self.num_prototypes = num_prototypes
        self.word_proj = nn.Linear(word_dims, dims, bias=False)
        self.cross_attn = TransformerLayer(
            dims,
            num_heads,
            ffn_dims,
            self_attn=False,
            cross_attn=True,
            dropout=dropout,
            norm_order='post',
            cross_input_proj=dict(act_cfg=dict(type='ReLU')),
            # public code: no dropout on the attention residual branch
            attn_residual_dropout=0.)
        self.with_coef = with_coef
        if with_coef:
            self.conv1 = ConvModule(
                dims, dims, 3, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg)
            self.conv2 = ConvModule(
                dims, dims, 3, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg)
            self.conv3 = nn.Conv2d(
                dims,
                num_prototypes,
                coef_kernel_size,
                padding=coef_kernel_size // 2)
            fc_in = num_prototypes * (
                self.feat_size[0] * self.feat_size[1]
                if coef_pool == 'linear' else 1)
            self.fc = nn.Linear(fc_in, num_prototypes, bias=False)

    def fine(self, tokens: Tensor, words: Tensor,
             pad_mask: Optional[Tensor]) -> Tensor:
        """Eq. 8: F_A (B, N, d) attends to f_T (B, L, C_t) -> F_fine."""
        mask = pad_mask if self.mask_padding else None
        return self.cross_attn(
            tokens,
            memory=F.relu(self.word_proj(words)),
            memory_pad_mask=mask)

    def coefficients(self, fine: Tensor, size: Tuple[int, int]) -> Tensor:
        """Eq. 9: F_fine (B, H*W, d) -> f_coef (B, N_c) in (-1, 1)."""
        b, n, d = fine.shape
        x = fine.transpose(1, 2).reshape(b, d, *size)
        x = self.conv3(self.conv2(self.conv1(x)))
        if self.coef_pool == 'avg':
            x = x.mean(dim=(2, 3))
        else:
            if tuple(size) != self.feat_size:
                raise ValueError(
                    f'WCG was built for a {self.feat_size} token grid '
                    f'(feat_size) but got {tuple(size)}; set feat_size = '
                    'img_size / patch or coef_pool="avg"')
            x = x.permute(0, 2, 3, 1).flatten(1)  # (H, W, N_c) order
        return self.fc(x).tanh()

    def forward(self, tokens: Tensor, words: Tensor,
                pad_mask: Optional[Tensor], size: Tuple[int, int]) -> Tensor:
        """F_A tokens + words -> coefficients (B, N_c)."""
        return self.coefficients(self.fine(tokens, words, pad_mask), size)
