"""Coarse-to-Fine Segmentation decoder (CFS) of ASDA (Sec. 3.4, Eq. 6-7).

As in the authors' public code (swagger-coder/ASDA at 97bc06c,
``model/model.py`` 113-144, 299-302, 419-441): F_coarse goes through a ReLU,
``n`` post-norm self-attention layers with DETR sine positions and a final
LayerNorm (Eq. 6, "Local Visual Attention", giving F_A); the segmentation
decoder runs ``num_convs`` 3x3 ConvModules at the token grid, then
``num_upsamples`` (nearest x2, 3x3 ConvModule) steps and a final 3x3 conv to
the N_c response masks M' (Eq. 7; 26 -> 208 at 416 input, stride 2), with a
ReLU on them. The paper applies a sigmoid to M' (``out_act='sigmoid'``).
"""
from typing import Optional, Tuple

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch import Tensor

from mmris.models.layers import TransformerStack
from .asda_layers import detr_sine_position_2d

__all__ = ['CoarseToFineDecoder']

_ACTS = {'relu': nn.ReLU, 'sigmoid': nn.Sigmoid, 'none': nn.Identity}
_PUBLIC_NORM_CFG = dict(type='BN', momentum=0.999)
_PUBLIC_ACT_CFG = dict(type='LeakyReLU', negative_slope=0.1)


class CoarseToFineDecoder(nn.Module):
    """Local visual attention (Eq. 6) + segmentation decoder (Eq. 7).

    Args:
        dims (int): Channels d of F_coarse and the attention. Defaults 512.
        num_layers (int): ``n`` attention layers (Table 3). Defaults to 2.
        num_heads (int): Attention heads. Defaults to 8.
        ffn_dims (int): MLP hidden width. Defaults to 512 (public code).
        dropout (float): Attention / MLP dropout. Defaults to 0.1.
        input_relu (bool): ReLU on F_coarse before the attention (public
            code). Defaults to True.
        norm_first (bool): Pre-norm layers (the paper's Eq. 6 reading);
            default False (post-norm, public code).
        final_norm (bool): LayerNorm after the last layer (public code).
        decoder_channels (int): Channels of the decoder convs. Defaults 256.
        num_convs (int): 3x3 ConvModules before the first up-sampling.
            Defaults to 2.
        num_upsamples (int): (nearest x2, 3x3 ConvModule) steps. Defaults
            to 3 (output stride 2 from a stride-16 grid).
        out_channels (int): Output maps (N_c prototypes, or 1 for the
            single-branch ablation). Defaults to 32.
        out_kernel_size (int): Kernel of the final conv. Defaults to 3.
        out_act (str, optional): 'relu' (public code), 'sigmoid' (Eq. 7) or
            'none' on the output.
        norm_cfg (dict): Norm of the ConvModules.
        act_cfg (dict): Activation of the ConvModules.
    """

    def __init__(self,
                 dims: int = 512,
                 num_layers: int = 2,
                 num_heads: int = 8,
                 ffn_dims: int = 512,
                 dropout: float = 0.1,
                 input_relu: bool = True,
                 norm_first: bool = False,
                 final_norm: bool = True,
                 decoder_channels: int = 256,
                 num_convs: int = 2,
                 num_upsamples: int = 3,
                 out_channels: int = 32,
                 out_kernel_size: int = 3,
                 out_act: Optional[str] = 'relu',
                 norm_cfg: dict = _PUBLIC_NORM_CFG,
                 act_cfg: dict = _PUBLIC_ACT_CFG) -> None:
        super().__init__()
        if num_layers < 0:
            raise ValueError(f'num_layers must be >= 0, got {num_layers}')
        if num_convs < 1 or num_upsamples < 0:
            raise ValueError('need num_convs >= 1 and num_upsamples >= 0, got '
                             f'{num_convs}, {num_upsamples}')
        out_act = out_act or 'none'
        if out_act not in _ACTS:
            raise ValueError(f'out_act must be one of {list(_ACTS)}, got '
                             f'{out_act!r}')
        if dims % 4:
            raise ValueError(f'dims must be a multiple of 4 (2-D sine '
                             f'positions), got {dims}')
        self.dims = dims
        self.input_relu = input_relu
        # Eq. 6: self-attention + FFN, post-norm (public code,
        # model/transformer.py 147-156) or pre-norm, and a final LayerNorm
        self.encoder = TransformerStack(
            num_layers,
            final_norm=final_norm,
            embed_dims=dims,
            num_heads=num_heads,
            ffn_dims=ffn_dims,
            dropout=dropout,
            norm_order='pre' if norm_first else 'post')

        def conv(cin: int) -> ConvModule:
            return ConvModule(
                cin,
                decoder_channels,
                3,
                padding=1,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg)

        self.convs = nn.ModuleList(
            [conv(dims if i == 0 else decoder_channels)
             for i in range(num_convs)])
        self.up_convs = nn.ModuleList(
            [conv(decoder_channels) for _ in range(num_upsamples)])
        self.out_conv = nn.Conv2d(
            decoder_channels,
            out_channels,
            out_kernel_size,
            padding=out_kernel_size // 2)
        self.out_act = _ACTS[out_act]()

    def encode(self, coarse: Tensor) -> Tuple[Tensor, Tensor]:
        """Eq. 6: refine F_coarse (B, d, H, W) to tokens F_A (B, H*W, d).

        Returns:
            tuple[Tensor, Tensor]: F_A (B, H*W, d) and the sine positions
            (H*W, d) used.
        """
        _, _, h, w = coarse.shape
        pos = detr_sine_position_2d(h, w, self.dims, device=coarse.device,
                                    dtype=coarse.dtype)
        x = coarse.flatten(2).transpose(1, 2)
        if self.input_relu:
            x = F.relu(x)
        return self.encoder(x, query_pos=pos), pos

    def decode(self, tokens: Tensor, size: Tuple[int, int]) -> Tensor:
        """Eq. 7: tokens (B, H*W, d) -> masks (B, out_channels, sH, sW)."""
        b, n, d = tokens.shape
        x = tokens.transpose(1, 2).reshape(b, d, *size)
        for conv in self.convs:
            x = conv(x)
        for conv in self.up_convs:
            x = conv(F.interpolate(x, scale_factor=2.0, mode='nearest'))
        return self.out_act(self.out_conv(x))

    def forward(self, coarse: Tensor) -> Tensor:
        """F_coarse (B, d, H, W) -> response masks M'."""
        tokens, _ = self.encode(coarse)
        return self.decode(tokens, coarse.shape[-2:])
