"""Build CLIP models through open_clip, from local weights only.

Weights come from a local file (``pretrained='/path/RN50.pt'``) or an
open_clip pretrained tag that is already in the local cache; nothing is
assumed to be downloadable at run time. ``model_cfg`` builds a CLIP of any
size with random weights (tests, reduced-size models).

A configured weight *file* that does not exist is reported with a warning
in the log and the model starts from random weights, so that a config runs
as written on a machine without the weights (a smoke test, a CPU check);
results then do not match the paper. An open_clip *tag* whose weights are
not cached is an error.
"""
import logging
import os
import os.path as osp
import warnings
from typing import Optional

import torch.nn as nn
from mmengine.logging import print_log

__all__ = ['build_open_clip', 'resolve_pretrained_file']

_WEIGHT_SUFFIXES = ('.pt', '.pth', '.bin', '.safetensors', '.ckpt')


def resolve_pretrained_file(pretrained: Optional[str]) -> Optional[str]:
    """Return ``pretrained``, or None (with a warning) for a missing file.

    Args:
        pretrained (str, optional): A file path or an open_clip tag.

    Returns:
        str | None: ``pretrained`` unless it names a weight file that does not
        exist, in which case None (random initialisation).
    """
    if pretrained is None or osp.isfile(pretrained):
        return pretrained
    looks_like_file = (os.sep in pretrained
                       or pretrained.endswith(_WEIGHT_SUFFIXES))
    if not looks_like_file:
        return pretrained  # an open_clip tag
    message = (f'CLIP weights not found at "{osp.abspath(pretrained)}": the '
               'backbone starts from RANDOM weights and results will not '
               'match the paper. Put the file there (see the config '
               "folder's README) or set model.backbone.pretrained.")
    warnings.warn(message)
    print_log(message, logger='current', level=logging.WARNING)
    return None


def _import_open_clip():
    try:
        import open_clip
    except ImportError as err:  # pragma: no cover - a declared dependency
        raise ImportError('CLIP backbones need open_clip: '
                          'pip install open_clip_torch') from err
    return open_clip


def build_open_clip(model_name: Optional[str] = None,
                    pretrained: Optional[str] = None,
                    model_cfg: Optional[dict] = None) -> nn.Module:
    """Create an open_clip ``CLIP`` model.

    Args:
        model_name (str, optional): open_clip model name ('RN50', 'RN101',
            'ViT-B-16', ...). Ignored when ``model_cfg`` is given.
        pretrained (str, optional): A local checkpoint file, or an open_clip
            pretrained tag ('openai', ...) whose weights are in the local
            cache. None builds random weights.
        model_cfg (dict, optional): ``dict(embed_dim, vision_cfg, text_cfg,
            quick_gelu)`` for ``open_clip.model.CLIP`` (any size, random
            weights). Takes precedence over ``model_name``.

    Returns:
        nn.Module: The ``open_clip.model.CLIP`` model, in float32.
    """
    open_clip = _import_open_clip()
    pretrained = resolve_pretrained_file(pretrained)
    if model_cfg is not None:
        from open_clip.model import CLIP
        cfg = dict(model_cfg)
        model = CLIP(
            embed_dim=cfg.pop('embed_dim'),
            vision_cfg=dict(cfg.pop('vision_cfg')),
            text_cfg=dict(cfg.pop('text_cfg')),
            **cfg)
        if pretrained is not None:
            open_clip.load_checkpoint(model, _local_file(pretrained))
        return model.float()
    if model_name is None:
        raise ValueError('give either model_name (e.g. "RN50") or model_cfg')
    if model_name not in open_clip.list_models():
        raise ValueError(f'unknown open_clip model "{model_name}"; known: '
                         f'{", ".join(open_clip.list_models()[:20])}, ...')
    if pretrained is not None and not osp.isfile(pretrained):
        tags = open_clip.list_pretrained_tags_by_model(model_name)
        if pretrained not in tags:
            raise FileNotFoundError(
                f'pretrained "{pretrained}" is neither a file nor an open_clip '
                f'tag of {model_name} ({tags})')
    try:
        model = open_clip.create_model(
            model_name, pretrained=pretrained, precision='fp32')
    except Exception as err:
        if pretrained is None or osp.isfile(pretrained):
            raise
        raise RuntimeError(
            f'could not load the open_clip weights {model_name}/{pretrained} '
            '(no network access?). Download them once and set '
            'backbone.pretrained to the local file.') from err
    return model


def _local_file(path: str) -> str:
    if not osp.isfile(path):
        raise FileNotFoundError(f'CLIP checkpoint not found: {path}')
    return path


def require_vit(clip, owner: str):
    """The image tower of ``clip``, checked to be a ViT.

    Args:
        clip: An open_clip ``CLIP``.
        owner (str): The backbone asking, for the message.

    Returns:
        The ``VisionTransformer`` image tower.

    Raises:
        TypeError: The image tower is not a ViT (e.g. a ModifiedResNet).
    """
    visual = clip.visual
    if not hasattr(visual, 'class_embedding') or not hasattr(visual, 'conv1'):
        raise TypeError(f'{owner} needs a ViT CLIP (visual tower with '
                        f'conv1/class_embedding), got {type(visual).__name__}')
    return visual


def check_layer_ids(out_indices, num_layers: int,
                    allow_empty: bool = False) -> tuple:
    """``out_indices`` as an increasing tuple of valid 0-based layer ids.

    Raises:
        ValueError: Empty (unless ``allow_empty``), not increasing and
            unique, or out of ``[0, num_layers)``.
    """
    out_indices = tuple(int(i) for i in out_indices)
    if not out_indices and not allow_empty:
        raise ValueError('out_indices must name at least one layer')
    if list(out_indices) != sorted(set(out_indices)):
        raise ValueError('out_indices must be increasing and unique, got '
                         f'{out_indices}')
    if out_indices and (out_indices[0] < 0 or out_indices[-1] >= num_layers):
        raise ValueError(f'out_indices {out_indices} out of range for '
                         f'{num_layers} layers (0-based ids)')
    return out_indices
