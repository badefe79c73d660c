"""BEiT-3, the single vision-language encoder of Shared-RIS (Sec. III-A).

Shared-RIS Eq. 1-3 embed the image patches (with a vision CLS) and the text
tokens (``[t_cls, t_1..t_m, t_eot]``), each with its own learned positions,
and concatenate them, vision first; Eq. 4-5 run L multiway transformer
layers over the joint sequence: one self-attention over all tokens and a
separate MLP per modality. As in the official code (microsoft/torchscale
``BEiT3`` / ``Encoder``, unilm ``beit3/modeling_utils.py``), which the
released checkpoints follow, the q/k/v/out projections and every LayerNorm
are per-modality too (experts ``A`` = vision, ``B`` = text), attention has a
sub-LayerNorm before its output projection and the FFN one after its GELU
(``subln``), and the output of the last layer goes through a final
multiway LayerNorm. Positions follow fairseq: rows 0-1 of both tables are
never used, vision tokens take rows ``2 .. 2 + HW`` of table ``A`` and text
tokens rows ``2 .. L + 1`` of table ``B``; padded text tokens are zeroed
after the positions are added and masked as attention keys.

Module names reproduce the official state-dict keys without the ``beit3.``
prefix, so the released ``beit3_{base,large}_patch16_224.pth`` files
(``{'model': {'beit3.*': ..., 'mlm_head.*': ..., 'mim_head.*': ...}}``) load
directly through ``pretrained``; see :func:`load_beit3_checkpoint`.
"""
import logging
import math
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn.bricks.drop import DropPath
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import Tensor

from mmris.models.layers import Multiway
from mmris.models.utils.beit3_tokenizer import BEiT3Tokenizer
from mmris.models.utils.checkpoint import checkpoint_call
from mmris.registry import MODELS
from mmris.structures import FeatureSpec, LevelSpec, VLFeatures

__all__ = [
    'BEiT3', 'BEiT3Attention', 'BEiT3FFN', 'BEiT3Layer',
    'load_beit3_checkpoint', 'interpolate_beit3_pos_embed', 'BEIT3_ARCHS'
]

#: The official base / large settings (``_get_base_config`` /
#: ``_get_large_config`` in unilm ``beit3/modeling_utils.py``).
BEIT3_ARCHS = {
    'base': dict(embed_dims=768, num_layers=12, num_heads=12, ffn_dims=3072),
    'large': dict(embed_dims=1024, num_layers=24, num_heads=16, ffn_dims=4096),
}
#: Official vocabulary size (XLM-R sentencepiece pieces + specials).
BEIT3_VOCAB_SIZE = 64010
#: fairseq's position rows 0 and 1 are never used; both tables start at 2.
POS_OFFSET = 2
#: Keys of the released pretraining files that RIS does not use.
PRETRAIN_HEAD_PREFIXES = ('mlm_head.', 'mim_head.')


def _layer_norm(dims: int, eps: float) -> nn.LayerNorm:
    return nn.LayerNorm(dims, eps=eps)


class BEiT3Attention(nn.Module):
    """Multiway self-attention with a sub-LayerNorm (torchscale ``subln``).

    ``out_proj(inner_attn_ln(softmax(q k^T / sqrt(d_h)) v))`` with per-
    modality q/k/v/out projections and sub-LayerNorm; the softmax runs over
    the whole joint sequence (Shared-RIS Eq. 4, "shared MSA").

    Args:
        embed_dims (int): Width D.
        num_heads (int): Attention heads.
        eps (float): LayerNorm epsilon.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 eps: float = 1e-5) -> None:
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims {embed_dims} is not divisible by '
                             f'num_heads {num_heads}')
        self.num_heads = num_heads
        # creation order k, v, q, out: the official state-dict order
        self.k_proj = Multiway(nn.Linear(embed_dims, embed_dims))
        self.v_proj = Multiway(nn.Linear(embed_dims, embed_dims))
        self.q_proj = Multiway(nn.Linear(embed_dims, embed_dims))
        self.out_proj = Multiway(nn.Linear(embed_dims, embed_dims))
        self.inner_attn_ln = Multiway(_layer_norm(embed_dims, eps))

    def forward(self,
                x: Tensor,
                split: int,
                attn_mask: Optional[Tensor] = None) -> Tensor:
        """Attend over the joint sequence.

        Args:
            x (Tensor): (B, N, D) normalised joint tokens.
            split (int): Number of vision tokens (multiway split).
            attn_mask (Tensor, optional): Bool (B, 1, 1, N), True at keys
                that may be attended (padding excluded).

        Returns:
            Tensor: (B, N, D).
        """
        b, n, d = x.shape
        heads = self.num_heads

        def split_heads(t: Tensor) -> Tensor:
            return t.reshape(b, n, heads, d // heads).transpose(1, 2)

        q = split_heads(self.q_proj(x, split))
        k = split_heads(self.k_proj(x, split))
        v = split_heads(self.v_proj(x, split))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        out = out.transpose(1, 2).reshape(b, n, d)
        return self.out_proj(self.inner_attn_ln(out, split), split)


class BEiT3FFN(nn.Module):
    """``fc2(ffn_layernorm(gelu(fc1(x))))``, one expert of Eq. 5's MLP.

    Args:
        embed_dims (int): Width D.
        ffn_dims (int): Hidden width (4D).
        eps (float): LayerNorm epsilon.
    """

    def __init__(self,
                 embed_dims: int,
                 ffn_dims: int,
                 eps: float = 1e-5) -> None:
        super().__init__()
        self.fc1 = nn.Linear(embed_dims, ffn_dims)
        self.fc2 = nn.Linear(ffn_dims, embed_dims)
        self.ffn_layernorm = _layer_norm(ffn_dims, eps)

    def reset_parameters(self) -> None:
        """Re-initialise (used when copying expert A into expert B)."""
        for module in (self.fc1, self.fc2, self.ffn_layernorm):
            module.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        """(..., D) -> (..., D); exact (erf) GELU in float32 as upstream."""
        x = self.fc1(x)
        x = F.gelu(x.float()).type_as(x)
        return self.fc2(self.ffn_layernorm(x))


class BEiT3Layer(nn.Module):
    """One pre-LN multiway transformer layer (Shared-RIS Eq. 4-5).

    Args:
        embed_dims (int): Width D.
        num_heads (int): Attention heads.
        ffn_dims (int): FFN hidden width.
        drop_path_rate (float): Stochastic depth of both residual branches.
        eps (float): LayerNorm epsilon.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 ffn_dims: int,
                 drop_path_rate: float = 0.0,
                 eps: float = 1e-5) -> None:
        super().__init__()
        self.self_attn = BEiT3Attention(embed_dims, num_heads, eps)
        self.self_attn_layer_norm = Multiway(_layer_norm(embed_dims, eps))
        self.ffn = Multiway(BEiT3FFN(embed_dims, ffn_dims, eps))
        self.final_layer_norm = Multiway(_layer_norm(embed_dims, eps))
        self.drop_path = (DropPath(drop_path_rate)
                          if drop_path_rate > 0 else nn.Identity())

    def forward(self,
                x: Tensor,
                split: int,
                attn_mask: Optional[Tensor] = None) -> Tensor:
        """(B, N, D) -> (B, N, D); see :meth:`BEiT3Attention.forward`."""
        h = self.self_attn(self.self_attn_layer_norm(x, split), split,
                           attn_mask)
        x = x + self.drop_path(h)
        h = self.ffn(self.final_layer_norm(x, split), split)
        return x + self.drop_path(h)


class BEiT3VisionEmbed(nn.Module):
    """Patch projection and vision CLS (``VisionEmbedding`` upstream).

    ``mask_token`` (masked image modelling) is kept as a buffer so that the
    released key layout loads as is; RIS never uses it.
    """

    def __init__(self,
                 embed_dims: int,
                 patch_size: int,
                 in_channels: int = 3) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_channels,
                              embed_dims,
                              kernel_size=patch_size,
                              stride=patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.register_buffer('mask_token', torch.zeros(1, 1, embed_dims))

    def forward(self, images: Tensor) -> Tuple[Tensor, Tuple[int, int]]:
        """(B, 3, H, W) -> tokens (B, 1 + h*w, D) and the grid (h, w)."""
        x = self.proj(images)
        grid = tuple(x.shape[-2:])
        x = x.flatten(2).transpose(1, 2)
        cls = self.cls_token.expand(x.shape[0], -1, -1).to(x.dtype)
        return torch.cat([cls, x], dim=1), grid


class BEiT3Encoder(nn.Module):
    """Positions, layers and the final norm (torchscale ``Encoder``)."""

    def __init__(self, embed_dims: int, num_layers: int, num_heads: int,
                 ffn_dims: int, num_vision_positions: int,
                 max_text_positions: int, drop_path_rate: float,
                 eps: float) -> None:
        super().__init__()
        self.embed_positions = Multiway(
            nn.Embedding(num_vision_positions, embed_dims),
            nn.Embedding(max_text_positions, embed_dims))
        rates = torch.linspace(0, drop_path_rate, num_layers).tolist()
        self.layers = nn.ModuleList([
            BEiT3Layer(embed_dims, num_heads, ffn_dims, rates[i], eps)
            for i in range(num_layers)
        ])
        self.layer_norm = Multiway(_layer_norm(embed_dims, eps))


@torch.no_grad()
def _trunc_normal_one_sigma_(tensor: Tensor, std: float) -> Tensor:
    """N(0, std) truncated to [-std, std] (the official Linear init),
    sampled by inverting the CDF (torch's sampler is slow at 1 sigma)."""
    low = 0.5 * (1 + math.erf(-1 / math.sqrt(2)))
    tensor.uniform_(2 * low - 1, 1 - 2 * low).erfinv_()
    return tensor.mul_(std * math.sqrt(2)).clamp_(-std, std)


def interpolate_beit3_pos_embed(weight: Tensor,
                                grid_size: Tuple[int, int]) -> Tensor:
    """Resize the vision position table to another patch grid.

    The official loader's rule (``load_model_and_may_interpolate`` in unilm
    ``beit3/utils.py``): the first 3 rows (fairseq's 2 unused rows and the
    CLS row) are kept; the remaining square grid is resized with
    ``F.interpolate(mode='bicubic', align_corners=False)``. Unlike the
    official loader, the table is upcast to float32 first (the released
    files are float16).

    Args:
        weight (Tensor): (3 + G*G, D) table.
        grid_size (tuple[int, int]): New grid (h, w).

    Returns:
        Tensor: (3 + h*w, D) float32 table.
    """
    extra = POS_OFFSET + 1
    weight = weight.float()
    grid = weight[extra:]
    old = int(math.isqrt(grid.shape[0]))
    if old * old != grid.shape[0]:
        raise ValueError(f'vision position table of {weight.shape[0]} rows '
                         f'is not 3 + a square grid')
    if (old, old) == tuple(grid_size):
        return weight.clone()
    grid = grid.reshape(1, old, old, -1).permute(0, 3, 1, 2)
    grid = F.interpolate(grid,
                         size=tuple(grid_size),
                         mode='bicubic',
                         align_corners=False)
    grid = grid.permute(0, 2, 3, 1).reshape(-1, weight.shape[1])
    return torch.cat([weight[:extra], grid], dim=0)


def _strip_official(
        state: Dict[str, Tensor]) -> Tuple[Dict[str, Tensor], List[str]]:
    """Keys of the ``beit3.`` module without the prefix; others dropped."""
    out, dropped = {}, []
    for key, value in state.items():
        if key.startswith('beit3.'):
            out[key[len('beit3.'):]] = value
        else:
            dropped.append(key)
    return out, dropped


def load_beit3_checkpoint(model: 'BEiT3', path: str) -> List[str]:
    """Load an official BEiT-3 ``.pth`` file into ``model``.

    Accepts ``{'model': sd}``, ``{'module': sd}`` or a bare state dict whose
    backbone keys start with ``beit3.``; keys outside ``beit3.`` (the
    pretraining ``mlm_head`` / ``mim_head``, task heads of fine-tuned files)
    are dropped and reported. Every tensor is upcast to float32, then the
    vision positions are resized to the model's grid
    (:func:`interpolate_beit3_pos_embed`); the text table is kept. The
    backbone keys must match exactly.

    Args:
        model (BEiT3): The backbone.
        path (str): Checkpoint file.

    Returns:
        list[str]: The dropped keys.

    Raises:
        KeyError: The file has no ``beit3.`` keys, or some are missing or
            unexpected.
    """
    ckpt = torch.load(path, map_location='cpu', weights_only=False)
    state = ckpt
    if isinstance(ckpt, dict):
        for key in ('model', 'module', 'state_dict'):
            if key in ckpt and isinstance(ckpt[key], dict):
                state = ckpt[key]
                break
    state, dropped = _strip_official(state)
    if not state:
        raise KeyError(f'{path} holds no "beit3.*" keys: not an official '
                       'BEiT-3 checkpoint (for a trained mmris model use '
                       'load_from instead)')
    state = {
        k: v.float() if v.is_floating_point() else v
        for k, v in state.items()
    }
    pos_key = 'encoder.embed_positions.A.weight'
    if pos_key in state:
        state[pos_key] = interpolate_beit3_pos_embed(state[pos_key],
                                                     model.grid_size)
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise KeyError(
            f'{path} does not match BEiT3(arch={model.arch!r}): '
            f'missing {missing[:8]}{"..." if len(missing) > 8 else ""}'
            f', unexpected {unexpected[:8]}'
            f'{"..." if len(unexpected) > 8 else ""}')
    for key, value in state.items():
        if value.shape != own[key].shape:
            raise KeyError(f'{path}: {key} has shape {tuple(value.shape)}, '
                           f'the model {tuple(own[key].shape)} (arch '
                           f'{model.arch!r}?)')
    model.load_state_dict(state, strict=True)
    return dropped


@MODELS.register_module()
class BEiT3(BaseModule):
    """BEiT-3 multiway encoder over the joint image-text sequence.

    Args:
        arch (str | dict): 'base' or 'large', or a dict with ``embed_dims``,
            ``num_layers``, ``num_heads`` and ``ffn_dims`` (reduced models
            for tests).
        img_size (int | tuple[int, int]): Input size the vision positions
            are built for (480 in Shared-RIS, 224 for the released files).
        patch_size (int): Patch size. Defaults to 16.
        out_indices (Sequence[int]): 0-based ids of the layers whose outputs
            fill ``visual`` / ``visual_cls`` / ``word_levels`` /
            ``joint_levels`` (paper stage j is id j - 1). Defaults to
            (2, 5, 8, 11), Shared-RIS's stages {3, 6, 9, 12}.
        norm_last_tap (bool): Take a tap of the last layer after the final
            multiway LayerNorm (the encoder output); other taps are the
            residual stream. Defaults to True.
        drop_path_rate (float): Stochastic depth, linear over depth from 0.
        vocab_size (int): Text embedding rows. Defaults to 64010.
        max_text_positions (int): Text position rows. Defaults to 1024.
        spm_path (str, optional): Local ``beit3.spm`` (read on first use).
        context_length (int): Text length L with start / end tokens.
        pretrained (str, optional): Official ``.pth`` file. A missing file
            gives a warning and random weights.
        layer_norm_eps (float): LayerNorm epsilon. Defaults to 1e-5.
        with_cp (bool): Activation checkpointing of every transformer
            block while training (:func:`~mmris.models.utils.checkpoint_call`):
            less memory, about one more forward pass of compute; outputs
            and gradients unchanged. Defaults to False.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 arch: Union[str, dict] = 'base',
                 img_size: Union[int, Sequence[int]] = 480,
                 patch_size: int = 16,
                 out_indices: Sequence[int] = (2, 5, 8, 11),
                 norm_last_tap: bool = True,
                 drop_path_rate: float = 0.0,
                 vocab_size: int = BEIT3_VOCAB_SIZE,
                 max_text_positions: int = 1024,
                 spm_path: Optional[str] = None,
                 context_length: int = 20,
                 pretrained: Optional[str] = None,
                 layer_norm_eps: float = 1e-5,
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.with_cp = with_cp
        if isinstance(arch, str):
            if arch not in BEIT3_ARCHS:
                raise ValueError(f'unknown BEiT-3 arch {arch!r}; choose from '
                                 f'{sorted(BEIT3_ARCHS)} or give a dict')
            settings = dict(BEIT3_ARCHS[arch])
        else:
            settings = dict(arch)
            missing = {'embed_dims', 'num_layers', 'num_heads', 'ffn_dims'
                       } - set(settings)
            if missing:
                raise ValueError(f'BEiT3 arch dict lacks {sorted(missing)}')
        self.arch = arch if isinstance(arch, str) else 'custom'
        self.embed_dims = int(settings['embed_dims'])
        self.num_layers = int(settings['num_layers'])
        if isinstance(img_size, int):
            img_size = (img_size, img_size)
        self.img_size = tuple(int(s) for s in img_size)
        if self.img_size[0] % patch_size or self.img_size[1] % patch_size:
            raise ValueError(f'img_size {self.img_size} is not a multiple of '
                             f'the patch size {patch_size}')
        self.patch_size = patch_size
        self.grid_size = (self.img_size[0] // patch_size,
                          self.img_size[1] // patch_size)
        out_indices = tuple(int(i) for i in out_indices)
        if (not out_indices or list(out_indices) != sorted(set(out_indices))
                or out_indices[0] < 0 or out_indices[-1] >= self.num_layers):
            raise ValueError(
                f'out_indices {out_indices} must be increasing, unique '
                f'0-based layer ids below num_layers={self.num_layers}')
        self.out_indices = out_indices
        self.norm_last_tap = norm_last_tap
        if context_length + POS_OFFSET > max_text_positions:
            raise ValueError(f'context_length {context_length} exceeds the '
                             f'{max_text_positions} text positions')

        d = self.embed_dims
        self.text_embed = nn.Embedding(vocab_size, d)
        self.vision_embed = BEiT3VisionEmbed(d, patch_size)
        num_vision_pos = self.grid_size[0] * self.grid_size[1] + 1 + POS_OFFSET
        self.encoder = BEiT3Encoder(d, self.num_layers,
                                    int(settings['num_heads']),
                                    int(settings['ffn_dims']), num_vision_pos,
                                    max_text_positions, drop_path_rate,
                                    layer_norm_eps)
        self.tokenizer = BEiT3Tokenizer(spm_path, context_length)
        self.context_length = context_length
        self._init_random()
        self.pretrained = pretrained
        if pretrained is not None:
            if osp.isfile(pretrained):
                dropped = load_beit3_checkpoint(self, pretrained)
                print_log(f'BEiT3: loaded {pretrained}' +
                          (f' (ignored {len(dropped)} keys outside beit3.*: '
                           f'{sorted({k.split(".")[0] for k in dropped})})'
                           if dropped else ''),
                          logger='current')
            else:
                message = (
                    f'BEiT-3 weights not found at "{osp.abspath(pretrained)}":'
                    ' the backbone starts from RANDOM weights and results '
                    'will not match the paper. Put the file there (see '
                    "configs/shared_ris/README.md) or set "
                    'model.backbone.pretrained.')
                warnings.warn(message)
                print_log(message, logger='current', level=logging.WARNING)

    def _init_random(self) -> None:
        """The official random initialisation (``BEiT3Wrapper``)."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                _trunc_normal_one_sigma_(module.weight, std=.02)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        nn.init.normal_(self.text_embed.weight, std=self.embed_dims**-0.5)

    @property
    def text_dims(self) -> int:
        """Width of the word features."""
        return self.embed_dims

    def output_spec(self) -> FeatureSpec:
        """Declared output (:class:`~mmris.structures.FeatureSpec`)."""
        levels = (LevelSpec(self.embed_dims, self.patch_size,
                            has_cls=True), ) * len(self.out_indices)
        return FeatureSpec(visual=levels,
                           word_dims=self.embed_dims,
                           sentence_dims=self.embed_dims,
                           word_level_dims=(self.embed_dims, ) * len(levels),
                           has_joint=True,
                           has_sentence_index=True,
                           img_size=self.img_size,
                           extras=('visual_layer_ids', ),
                           source=f'BEiT3({self.arch})')

    def _vision_positions(self, grid: Tuple[int, int]) -> Tensor:
        table = self.encoder.embed_positions.A.weight
        if tuple(grid) != self.grid_size:
            # another input size than built for: resize on the fly
            table = interpolate_beit3_pos_embed(table, grid).to(table.dtype)
        return table[POS_OFFSET:POS_OFFSET + 1 + grid[0] * grid[1]]

    def encode(
        self,
        images: Tensor,
        token_ids: Tensor,
        padding_mask: Optional[Tensor] = None,
        taps: Optional[Sequence[int]] = None
    ) -> Tuple[List[Tensor], Tensor, int, Tuple[int, int]]:
        """Run the encoder; return the joint sequence of the taps.

        Args:
            images (Tensor): (B, 3, H, W) normalised images.
            token_ids (Tensor): (B, L) long token ids.
            padding_mask (Tensor, optional): (B, L), True / 1 at padding.
                None: no token is padding.
            taps (Sequence[int], optional): 0-based layers to return;
                defaults to ``out_indices``. Id ``num_layers`` (one past the
                last layer) means the encoder output after the final norm.

        Returns:
            tuple: list of (B, 1 + h*w + L, D) tap outputs (the residual
            stream after each tapped layer, as the official layers return
            it), the final output (after the final norm), the split position
            1 + h*w, and the grid (h, w).
        """
        if token_ids.dim() != 2 or token_ids.shape[0] != images.shape[0]:
            raise ValueError(f'token_ids must be (B, L) with B='
                             f'{images.shape[0]}, got '
                             f'{tuple(token_ids.shape)}')
        length = token_ids.shape[1]
        if length + POS_OFFSET > self.encoder.embed_positions.B.num_embeddings:
            raise ValueError(f'{length} text tokens exceed the text '
                             'position table')
        if padding_mask is None:
            padding_mask = torch.zeros_like(token_ids, dtype=torch.bool)
        if padding_mask.shape != token_ids.shape:
            raise ValueError(f'padding_mask {tuple(padding_mask.shape)} does '
                             f'not match token_ids {tuple(token_ids.shape)}')
        padding_mask = padding_mask.to(token_ids.device).bool()
        taps = self.out_indices if taps is None else tuple(taps)

        vis, grid = self.vision_embed(images)
        vis = vis + self._vision_positions(grid).to(vis.dtype)
        text = self.text_embed(token_ids)
        text = text + self.encoder.embed_positions.B.weight[
            POS_OFFSET:POS_OFFSET + length].to(text.dtype)
        split = vis.shape[1]
        x = torch.cat([vis, text], dim=1)
        pad = torch.cat(
            [padding_mask.new_zeros(x.shape[0], split), padding_mask], dim=1)
        x = x * (~pad).unsqueeze(-1).to(x.dtype)
        attn_mask = (~pad)[:, None, None, :]

        outs: Dict[int, Tensor] = {}
        for i, layer in enumerate(self.encoder.layers):
            x = checkpoint_call(layer, x, split, attn_mask,
                                enabled=self.with_cp and self.training)
            if i in taps:
                outs[i] = x
        final = self.encoder.layer_norm(x, split)
        if self.num_layers in taps:
            outs[self.num_layers] = final
        return [outs[i] for i in taps], final, split, grid

    def forward_ids(self,
                    images: Tensor,
                    token_ids: Tensor,
                    padding_mask: Optional[Tensor] = None) -> VLFeatures:
        """Encode images with already tokenised expressions.

        Args:
            images (Tensor): (B, 3, H, W) normalised images.
            token_ids (Tensor): (B, L) ids: ``[0, ..., 2, 1, ..]``.
            padding_mask (Tensor, optional): (B, L) bool (True = pad) or the
                official long mask (1 = pad). None: ``token_ids == 1``.

        Returns:
            VLFeatures: per tap ``visual`` (B, D, h, w), ``visual_cls``
            (B, D), ``word_levels`` (B, L, D) and ``joint_levels``
            (B, 1 + h*w + L, D); ``words`` (B, L, D) and ``sentence`` (the
            text CLS, index 0) from the final (normed) output.
        """
        if padding_mask is None:
            padding_mask = token_ids == BEiT3Tokenizer.pad_token_id
        padding_mask = padding_mask.bool()
        taps, final, split, (h, w) = self.encode(images, token_ids,
                                                 padding_mask)
        if self.norm_last_tap and self.out_indices[-1] == self.num_layers - 1:
            # Shared-RIS stage L is the encoder output (after the final norm)
            taps[-1] = final
        b = images.shape[0]
        maps, cls_tokens, word_levels = [], [], []
        for seq in taps:
            cls_tokens.append(seq[:, 0])
            maps.append(seq[:, 1:split].transpose(1, 2).reshape(b, -1, h, w))
            word_levels.append(seq[:, split:])
        words = final[:, split:]
        return VLFeatures(visual=maps,
                          words=words,
                          word_pad_mask=padding_mask,
                          sentence=words[:, 0],
                          visual_cls=cls_tokens,
                          word_levels=word_levels,
                          joint_levels=taps,
                          sentence_index=torch.zeros(b,
                                                     dtype=torch.long,
                                                     device=words.device),
                          extras=dict(visual_layer_ids=self.out_indices))

    def forward(self,
                images: Tensor,
                texts: Optional[Sequence[str]] = None,
                token_ids: Optional[Tensor] = None,
                padding_mask: Optional[Tensor] = None) -> VLFeatures:
        """Encode images and expressions (strings or token ids).

        Args:
            images (Tensor): (B, 3, H, W) normalised images.
            texts (Sequence[str], optional): B expressions, tokenised with
                ``beit3.spm``.
            token_ids (Tensor, optional): (B, L) ids instead of ``texts``.
            padding_mask (Tensor, optional): Pad mask of ``token_ids``.

        Returns:
            VLFeatures: See :meth:`forward_ids`.
        """
        if token_ids is None:
            if texts is None:
                raise ValueError('BEiT3 needs texts or token_ids')
            if len(texts) != images.shape[0]:
                raise ValueError(f'{images.shape[0]} images but {len(texts)} '
                                 'expressions')
            token_ids, padding_mask = self.tokenizer(texts)
        token_ids = token_ids.to(images.device)
        if padding_mask is not None:
            padding_mask = padding_mask.to(images.device)
        return self.forward_ids(images, token_ids, padding_mask)
