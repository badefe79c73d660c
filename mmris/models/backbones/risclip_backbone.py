"""Frozen CLIP towers in lock-step with Adapters and CFE (RISCLIP Sec. 3).

RISCLIP (Kim et al., NAACL 2024), Sec. 3.1-3.2, Eq. 1-3, App. A.1, Table A1:

* CLIP (open_clip ``ViT-B-16-plus-240`` with LAION-400M weights for
  RISCLIP-B, ``ViT-L-14-336-quickgelu`` with OpenAI weights for RISCLIP-L) is
  frozen, ``ln_post``, the projections and ``ln_final`` included;
* the image positional embedding is resized once, at build time, to the
  training grid (40x40 at 640 / 560; bicubic, reading A2) and kept as a
  frozen buffer;
* two adapters in every layer of both towers (or the last ``adapter_layers``
  of each, Table 5a), with a learnable attention temperature per adapted
  layer (:class:`~mmris.models.layers.AdaptedCLIPBlock`);
* ``num_cfe`` CFE modules pair the deepest image and text layers ("starting
  from the deepest layers"): CFE ``j`` runs before image layer
  ``N_v - num_cfe + j`` and text layer ``N_t - num_cfe + j``. The towers run
  layer by layer in lock-step;
* the last image layer follows MaskCLIP's value path, and
  ``V_patch = ln_post(x[:, 1:]) @ proj`` gives patch features in the shared
  space; words ``T = ln_final(y) @ text_projection``, ``t_eos`` = T at EOT.

Outputs (:class:`~mmris.structures.VLFeatures`): ``visual`` = the patch maps
of the image layers ``out_indices`` (default layers 1-4, which the Refiner
reads), ``words`` = ``ln_final`` outputs (B, L, C_t), ``sentence`` = t_eos in
the shared space (B, d), ``sentence_index`` (B,) = the EOT positions, and
``extras['shared_visual']`` (B, d, h, w) and ``extras['shared_words']``
(B, L, d) for the SKE neck (declared by :meth:`output_spec`).
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from mmris.models.layers import AdaptedCLIPBlock, CrossModalFeatureExtraction
from mmris.models.utils import (CLIPTokenizer, build_open_clip,
                                checkpoint_call)
from mmris.models.utils.open_clip_utils import check_layer_ids, require_vit
from mmris.registry import MODELS
from mmris.structures import FeatureSpec, LevelSpec, VLFeatures
from .clip_vit import resize_pos_embed

__all__ = ['RISCLIPBackbone']


def _project(x: Tensor, proj) -> Tensor:
    """``x @ proj`` for a CLIP projection stored as a matrix or a Linear."""
    if isinstance(proj, nn.Module):
        return proj(x)
    return x @ proj.to(x.dtype)


@MODELS.register_module()
class RISCLIPBackbone(BaseModule):
    """RISCLIP's CLIP encoder: frozen towers + Adapters + CFE + MaskCLIP.

    Args:
        model_name (str): open_clip model name. Defaults to
            'ViT-B-16-plus-240' (RISCLIP-B).
        pretrained (str, optional): Local open_clip state-dict file (or a
            cached open_clip tag). A missing file gives a warning and random
            weights; None gives random weights.
        model_cfg (dict, optional): open_clip ``CLIP`` config (any size,
            random weights); takes precedence over ``model_name``.
        img_size (int | tuple[int, int]): Training input size. Defaults to
            640 (40x40 tokens of 16x16 patches).
        context_length (int): Text length. Defaults to 77 (reading A3).
        interpolate (str): Positional-embedding resize mode. Defaults to
            'bicubic'.
        adapter_layers (int, optional): Adapters in the last N layers of
            each tower; None: every layer (the paper), 0: none.
        adapter_ratio (float): Bottleneck / width. Defaults to 0.5.
        adapter_scale_init (float): Adapter scaler init. Defaults to 0.6.
        attn_temperature (bool): Learnable attention temperature in every
            adapted layer. Defaults to True.
        num_cfe (int): Number of CFE modules. Defaults to 6.
        cfe_dims (int, optional): CFE shared width; None: CLIP's embedding
            width (640 / 768).
        cfe_heads (int, optional): CFE heads; None: ``cfe_dims // 64``.
        cfe_scale_init (float): CFE scaler init. Defaults to 0.5.
        fusion (str): CFE fusion, 'mhca' or a Table 4 variant.
        out_indices (Sequence[int]): 0-based image layers returned in
            ``visual``. Defaults to (0, 1, 2, 3) (layers 1-4).
        maskclip (bool): MaskCLIP value path in the last image layer.
        with_cp (bool): Activation checkpointing of every adapted block
            and CFE module while training
            (:func:`~mmris.models.utils.checkpoint_call`): less memory,
            about one more forward pass of compute; outputs and gradients
            unchanged. Defaults to False.
        freeze_clip (bool): Freeze CLIP's weights (the paper). False is
            Table 3's "fine-tuned" row.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 model_name: str = 'ViT-B-16-plus-240',
                 pretrained: Optional[str] = None,
                 model_cfg: Optional[dict] = None,
                 img_size=640,
                 context_length: int = 77,
                 interpolate: str = 'bicubic',
                 adapter_layers: Optional[int] = None,
                 adapter_ratio: float = 0.5,
                 adapter_scale_init: float = 0.6,
                 attn_temperature: bool = True,
                 num_cfe: int = 6,
                 cfe_dims: Optional[int] = None,
                 cfe_heads: Optional[int] = None,
                 cfe_scale_init: float = 0.5,
                 fusion: str = 'mhca',
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 maskclip: bool = True,
                 freeze_clip: bool = True,
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.with_cp = with_cp
        clip = build_open_clip(model_name, pretrained, model_cfg)
        visual = require_vit(clip, 'RISCLIPBackbone')
        for tower in (visual.transformer, clip.transformer):
            if not getattr(tower, 'batch_first', True):
                raise TypeError('RISCLIPBackbone needs batch-first open_clip '
                                'transformers (open_clip >= 2.21)')
        v_blocks = list(visual.transformer.resblocks)
        t_blocks = list(clip.transformer.resblocks)
        n_v, n_t = len(v_blocks), len(t_blocks)
        if not 0 <= num_cfe <= min(n_v, n_t):
            raise ValueError(f'num_cfe={num_cfe} must be in [0, '
                             f'{min(n_v, n_t)}] for {n_v} image and {n_t} '
                             'text layers')
        if adapter_layers is None:
            adapter_layers = max(n_v, n_t)
        if adapter_layers < 0:
            raise ValueError(f'adapter_layers must be >= 0, got '
                             f'{adapter_layers}')
        out_indices = check_layer_ids(out_indices, n_v, allow_empty=True)
        self.out_indices = out_indices

        if isinstance(img_size, int):
            img_size = (img_size, img_size)
        self.img_size = tuple(img_size)
        patch = tuple(visual.conv1.kernel_size)
        if self.img_size[0] % patch[0] or self.img_size[1] % patch[1]:
            raise ValueError(f'img_size {self.img_size} is not a multiple of '
                             f'the patch size {patch}')
        self.patch_size = patch
        self.grid_size = (self.img_size[0] // patch[0],
                          self.img_size[1] // patch[1])
        self.interpolate = interpolate

        # image tower (CLIP's modules, taken over)
        self.conv1 = visual.conv1
        self.class_embedding = visual.class_embedding
        self.register_buffer(
            'positional_embedding',
            resize_pos_embed(visual.positional_embedding.detach(),
                             self.grid_size, interpolate).clone())
        self.ln_pre = visual.ln_pre
        self.ln_post = visual.ln_post
        self.proj = visual.proj
        # text tower
        max_len = clip.positional_embedding.shape[0]
        if not 2 <= context_length <= max_len:
            raise ValueError(f'context_length must be in [2, {max_len}], '
                             f'got {context_length}')
        self.context_length = context_length
        self.tokenizer = CLIPTokenizer(context_length)
        self.token_embedding = clip.token_embedding
        self.register_buffer(
            'text_positional_embedding',
            clip.positional_embedding.detach()[:context_length].clone())
        self.ln_final = clip.ln_final
        self.text_projection = clip.text_projection
        self.register_buffer(
            'attn_mask',
            torch.full((context_length, context_length),
                       float('-inf')).triu_(1),
            persistent=False)

        self.visual_dims = visual.class_embedding.shape[0]
        self.text_dims = clip.positional_embedding.shape[1]
        self.embed_dims = (self.proj.shape[1] if isinstance(
            self.proj, Tensor) else self.proj.out_features)
        self.num_visual_layers, self.num_text_layers = n_v, n_t
        self.num_cfe = num_cfe

        def wrap(blocks, first_adapted, maskclip_last):
            out = []
            for i, block in enumerate(blocks):
                adapted = i >= first_adapted
                out.append(
                    AdaptedCLIPBlock(
                        block,
                        adapter_ratio=adapter_ratio if adapted else None,
                        adapter_scale_init=adapter_scale_init,
                        temperature=attn_temperature and adapted,
                        maskclip=maskclip_last and i == len(blocks) - 1))
            return nn.ModuleList(out)

        self.visual_blocks = wrap(v_blocks, n_v - adapter_layers, maskclip)
        self.text_blocks = wrap(t_blocks, n_t - adapter_layers, False)
        cfe_dims = cfe_dims or self.embed_dims
        cfe_heads = cfe_heads or max(1, cfe_dims // 64)
        self.cfe = nn.ModuleList([
            CrossModalFeatureExtraction(self.visual_dims, self.text_dims,
                                        cfe_dims, cfe_heads, cfe_scale_init,
                                        fusion) for _ in range(num_cfe)
        ])
        self.freeze_clip = freeze_clip
        self._freeze()

    # ------------------------------------------------------------------
    def clip_parameters(self) -> List[Tuple[str, nn.Parameter]]:
        """(name, parameter) of every CLIP weight (frozen in the paper)."""
        trained = ('adapter_attn.', 'adapter_mlp.', 'temperature', 'cfe.')
        return [(n, p) for n, p in self.named_parameters()
                if not any(key in n for key in trained)]

    def _freeze(self) -> None:
        if self.freeze_clip:
            for _, param in self.clip_parameters():
                param.requires_grad = False

    @property
    def out_channels(self) -> List[int]:
        """Channels of the ``visual`` maps."""
        return [self.visual_dims] * len(self.out_indices)

    def output_spec(self) -> FeatureSpec:
        """``out_indices`` levels of ``C_v`` channels at the patch stride
        with CLS; words ``C_t``; sentence (t_eos) and the shared-space
        extras ``d``; EOT sentence index."""
        level = LevelSpec(self.visual_dims, self.patch_size[0], has_cls=True)
        return FeatureSpec(
            visual=(level, ) * len(self.out_indices),
            word_dims=self.text_dims,
            sentence_dims=self.embed_dims,
            has_sentence_index=True,
            extras=('visual_layer_ids', 'shared_visual', 'shared_words'),
            extra_dims=(('shared_visual', self.embed_dims),
                        ('shared_words', self.embed_dims)),
            img_size=self.img_size,
            source='RISCLIPBackbone')

    # ------------------------------------------------------------------
    def embed_image(self, images: Tensor) -> Tuple[Tensor, Tuple[int, int]]:
        """Patch embedding + CLS + positions + ``ln_pre``: (B, 1+HW, C_v)."""
        x = self.conv1(images)
        b, c, h, w = x.shape
        x = x.flatten(2).transpose(1, 2)
        cls = self.class_embedding.to(x.dtype).expand(b, 1, -1)
        x = torch.cat([cls, x], dim=1)
        pos = self.positional_embedding
        if (h, w) != self.grid_size:
            pos = resize_pos_embed(pos, (h, w), self.interpolate)
        return self.ln_pre(x + pos.to(x.dtype)), (h, w)

    def embed_text(self, ids: Tensor) -> Tensor:
        """Token + position embedding: (B, L, C_t)."""
        return self.token_embedding(ids) + self.text_positional_embedding

    def encode(self, images: Tensor, ids: Tensor,
               pad_mask: Tensor) -> Tuple[List[Tensor], Tensor, Tensor,
                                          Tuple[int, int]]:
        """Run both towers in lock-step.

        Args:
            images (Tensor): (B, 3, H, W) normalised images.
            ids (Tensor): (B, L) token ids.
            pad_mask (Tensor): (B, L) bool, True at padding.

        Returns:
            tuple: Tapped image tokens (list of (B, 1+HW, C_v)), the final
            image tokens (B, 1+HW, C_v), the final text tokens (B, L, C_t)
            and the grid (h, w).
        """
        x_v, grid = self.embed_image(images)
        x_t = self.embed_text(ids)
        mask = self.attn_mask.to(x_t.dtype)
        taps = []
        first_v = self.num_visual_layers - self.num_cfe
        first_t = self.num_text_layers - self.num_cfe

        cp = self.with_cp and self.training

        def run_visual(i, x):
            x = checkpoint_call(self.visual_blocks[i], x, enabled=cp)
            if i in self.out_indices:
                taps.append(x)
            return x

        def run_text(k, x):
            return checkpoint_call(self.text_blocks[k], x, mask, enabled=cp)

        for i in range(first_v):
            x_v = run_visual(i, x_v)
        for k in range(first_t):
            x_t = run_text(k, x_t)
        for j, cfe in enumerate(self.cfe):
            x_v, x_t = checkpoint_call(cfe, x_v, x_t, pad_mask, enabled=cp)
            x_v = run_visual(first_v + j, x_v)
            x_t = run_text(first_t + j, x_t)
        return taps, x_v, x_t, grid

    def forward(self, images: Tensor, texts: Sequence[str]) -> VLFeatures:
        """Encode a batch of images and their expressions.

        Args:
            images (Tensor): (B, 3, H, W) normalised images.
            texts (Sequence[str]): B expressions.

        Returns:
            VLFeatures: See the module docstring.
        """
        if len(texts) != images.shape[0]:
            raise ValueError(f'{images.shape[0]} images but {len(texts)} '
                             'expressions')
        ids, pad_mask = self.tokenizer(texts)
        ids, pad_mask = ids.to(images.device), pad_mask.to(images.device)
        taps, x_v, x_t, (h, w) = self.encode(images, ids, pad_mask)
        b = images.shape[0]

        def to_map(x: Tensor) -> Tensor:
            return x[:, 1:].transpose(1, 2).reshape(b, -1, h, w)

        patches = _project(self.ln_post(x_v[:, 1:]), self.proj)  # (B,HW,d)
        words = self.ln_final(x_t)
        shared_words = _project(words, self.text_projection)
        eot = ids.argmax(dim=-1)
        sentence = shared_words[torch.arange(b, device=eot.device), eot]
        return VLFeatures(
            visual=[to_map(x) for x in taps],
            words=words,
            word_pad_mask=pad_mask,
            sentence=sentence,
            visual_cls=[x[:, 0] for x in taps],
            sentence_index=eot,
            extras=dict(
                visual_layer_ids=self.out_indices,
                shared_visual=patches.transpose(1, 2).reshape(b, -1, h, w),
                shared_words=shared_words))
