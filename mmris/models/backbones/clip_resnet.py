"""CLIP ResNet image encoder + CLIP text transformer (CRIS Sec. 3.1).

Image encoder: the CLIP ``ModifiedResNet`` (RN50 / RN101, or any size);
F_v2 = ``layer2`` (stride 8), F_v3 = ``layer3`` (stride 16) and
F_v4 = the dense attention pool on ``layer4`` (stride 32, see
:class:`DenseAttentionPool2d`). Text encoder: CLIP's transformer with a causal
mask of length L (17 for RefCOCO/RefCOCO+, 22 for G-Ref, Sec. 4.2); word
features F_t are the ``ln_final`` outputs (not projected) and the sentence
feature F_s is the [EOS] output times ``text_projection``.

Module names follow CLIP's (``visual.*`` exactly, the text tower under
``text.*``), so CLIP weights load directly and CRIS checkpoints convert by
renaming prefixes (``tools/model_converters/cris2mmris.py``).
"""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from mmris.registry import MODELS
from mmris.structures import FeatureSpec, LevelSpec, VLFeatures
from ..utils import CLIPTokenizer, build_open_clip
from .clip_text_encoder import CLIPTextEncoder
from .dense_attention_pool import DenseAttentionPool2d

__all__ = ['CLIPResNet']


def _with_quick_gelu(model_name: str) -> str:
    """The open_clip name of the QuickGELU variant of ``model_name``."""
    import open_clip
    if model_name.endswith('-quickgelu'):
        return model_name
    name = f'{model_name}-quickgelu'
    return name if name in open_clip.list_models() else model_name


@MODELS.register_module()
class CLIPResNet(BaseModule):
    """CLIP ResNet + text transformer backbone of CRIS.

    Args:
        model_name (str): open_clip model name ('RN50', 'RN101', ...).
            Ignored when ``model_cfg`` is given. Defaults to 'RN50'.
        pretrained (str, optional): Local CLIP checkpoint file or an open_clip
            tag already in the local cache ('openai'); None = random weights.
        model_cfg (dict, optional): ``dict(embed_dim, vision_cfg, text_cfg)``
            for an open_clip ``CLIP`` of any size (``vision_cfg.layers`` a
            4-tuple for a ResNet); random weights unless ``pretrained``.
        context_length (int): Text length L. Defaults to 17.
        frozen (bool): Freeze the CLIP weights (both towers; the new
            ``connect`` branch stays trainable) and keep the visual BN layers
            in eval mode. CRIS fine-tunes everything. Defaults to False.
        quick_gelu (bool): Use QuickGELU in the text transformer, as the
            OpenAI CLIP weights that CRIS starts from (open_clip's plain
            'RN50' uses nn.GELU; this selects 'RN50-quickgelu' / sets
            ``model_cfg['quick_gelu']``). No parameter changes. Defaults to
            True.
        with_connect (bool): Residual ``connect`` branch of the dense
            attention pool (public CRIS code). Defaults to True.
        channels_last (bool | str): Run the ResNet tower on channels-last
            (NHWC) activations, the layout cuDNN's tensor-core convolutions
            prefer (issue 12, docs/speed.md); the returned maps are
            contiguous NCHW again. ``'auto'``: on for CUDA inputs, off on a
            CPU (where NHWC is not faster). Outputs are unchanged.
            Defaults to 'auto'.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 model_name: str = 'RN50',
                 pretrained: Optional[str] = None,
                 model_cfg: Optional[dict] = None,
                 context_length: int = 17,
                 frozen: bool = False,
                 quick_gelu: bool = True,
                 with_connect: bool = True,
                 channels_last: Union[bool, str] = 'auto',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if channels_last not in (True, False, 'auto'):
            raise ValueError("CLIPResNet channels_last must be True, False or "
                             f"'auto', got {channels_last!r}")
        self.channels_last = channels_last
        if model_cfg is not None:
            model_cfg = dict(model_cfg)
            model_cfg.setdefault('quick_gelu', quick_gelu)
        elif quick_gelu:
            model_name = _with_quick_gelu(model_name)
        clip = build_open_clip(model_name, pretrained, model_cfg)
        visual = clip.visual
        if not hasattr(visual, 'attnpool') or not hasattr(visual, 'layer4'):
            raise TypeError('CLIPResNet needs a CLIP with a ResNet image '
                            f'encoder, got {type(visual).__name__}')
        visual.attnpool = DenseAttentionPool2d.from_attention_pool(
            visual.attnpool, with_connect=with_connect)
        self.visual = visual
        self.text = CLIPTextEncoder(
            clip, context_length, project_sentence=True)
        self.tokenizer = CLIPTokenizer(context_length)
        self.context_length = context_length
        self.frozen = frozen
        if frozen:
            for name, param in self.named_parameters():
                if '.connect.' not in name:
                    param.requires_grad_(False)

    @property
    def out_channels(self) -> List[int]:
        """Channels of F_v2, F_v3, F_v4."""
        v = self.visual
        return [
            v.layer2[-1].bn3.num_features, v.layer3[-1].bn3.num_features,
            v.attnpool.output_dim
        ]

    @property
    def word_dims(self) -> int:
        """Width of the word features F_t."""
        return self.text.width

    @property
    def sentence_dims(self) -> int:
        """Width of the sentence feature F_s."""
        return self.text.sentence_dims

    def output_spec(self) -> FeatureSpec:
        """F_v2, F_v3, F_v4 at strides 8, 16, 32 (no CLS tokens); any input
        size (the attention pool's positions are resized per forward)."""
        strides = (8, 16, 32)
        return FeatureSpec(
            visual=tuple(
                LevelSpec(c, s) for c, s in zip(self.out_channels, strides)),
            word_dims=self.word_dims,
            sentence_dims=self.sentence_dims,
            has_sentence_index=True,
            source='CLIPResNet')

    def train(self, mode: bool = True) -> 'CLIPResNet':
        """Set the mode; frozen visual BN layers stay in eval mode."""
        super().train(mode)
        if mode and self.frozen:
            for name, module in self.visual.named_modules():
                if (isinstance(module, nn.modules.batchnorm._BatchNorm)
                        and 'connect' not in name):
                    module.eval()
        return self

    def uses_channels_last(self, images: Tensor) -> bool:
        """Whether :meth:`forward_visual` runs ``images`` in NHWC."""
        if self.channels_last == 'auto':
            return bool(images.is_cuda)
        return self.channels_last

    def forward_visual(self, images: Tensor) -> List[Tensor]:
        """F_v2, F_v3, F_v4 of normalised images (B, 3, H, W).

        Returns:
            list[Tensor]: Strides 8, 16, 32, contiguous (B, C, H, W).
        """
        v = self.visual
        x = images.to(v.conv1.weight.dtype)
        nhwc = self.uses_channels_last(images)
        if nhwc:
            # convolutions keep the layout of their input
            x = x.contiguous(memory_format=torch.channels_last)
        x = v.stem(x)
        x = v.layer1(x)
        v2 = v.layer2(x)
        v3 = v.layer3(v2)
        v4 = v.attnpool(v.layer4(v3))
        if nhwc:
            return [t.contiguous() for t in (v2, v3, v4)]
        return [v2, v3, v4]

    def forward(self, images: Tensor, texts: Sequence[str]) -> VLFeatures:
        """Encode a batch of images and their expressions.

        Args:
            images (Tensor): Normalised images (B, 3, H, W).
            texts (Sequence[str]): B referring expressions.

        Returns:
            VLFeatures: ``visual=[F_v2, F_v3, F_v4]``, ``words`` (B, L,
            word_dims), ``word_pad_mask`` (True at padding) and ``sentence``
            (B, sentence_dims).
        """
        ids, pad_mask = self.tokenizer(texts)
        ids, pad_mask = ids.to(images.device), pad_mask.to(images.device)
        visual = self.forward_visual(images)
        words, sentence = self.text(ids)
        return VLFeatures(
            visual=visual,
            words=words,
            word_pad_mask=pad_mask,
            sentence=sentence,
            sentence_index=ids.argmax(dim=-1))
