"""Helpers of the BEiT-3 / Shared-RIS tests (not a test file)."""
import os
import os.path as osp
from collections import OrderedDict
from typing import Dict, Tuple

from mmris.testing import make_tiny_spm  # noqa: F401 (re-exported)

#: A reduced BEiT-3 (random weights).
TINY_ARCH = dict(embed_dims=32, num_layers=4, num_heads=4, ffn_dims=64)
TINY_VOCAB = 300
TINY_TEXT_POS = 40


def official_layout(embed_dims: int,
                    num_layers: int,
                    img_size: int,
                    patch_size: int = 16,
                    vocab_size: int = 64010,
                    max_text_positions: int = 1024,
                    ffn_dims: int = None) -> 'OrderedDict[str, Tuple]':
    """Key -> shape of the official ``BEiT3Wrapper`` state dict.

    Written from the official module tree (torchscale ``BEiT3``,
    ``Encoder``, ``EncoderLayer``, ``MultiheadAttention``,
    ``FeedForwardNetwork``, ``MultiwayNetwork`` with experts A/B), not from
    mmris's loader.
    """
    d = embed_dims
    f = ffn_dims or 4 * d
    grid = (img_size // patch_size)**2
    keys: Dict[str, Tuple] = OrderedDict()
    keys['beit3.text_embed.weight'] = (vocab_size, d)
    keys['beit3.vision_embed.mask_token'] = (1, 1, d)
    keys['beit3.vision_embed.cls_token'] = (1, 1, d)
    keys['beit3.vision_embed.proj.weight'] = (d, 3, patch_size, patch_size)
    keys['beit3.vision_embed.proj.bias'] = (d, )
    # fairseq's 2 unused rows + CLS + patches; text table of 1024 rows
    keys['beit3.encoder.embed_positions.A.weight'] = (grid + 3, d)
    keys['beit3.encoder.embed_positions.B.weight'] = (max_text_positions, d)
    for i in range(num_layers):
        pre = f'beit3.encoder.layers.{i}.'
        for e in 'AB':
            for proj in ('k_proj', 'v_proj', 'q_proj', 'out_proj'):
                keys[f'{pre}self_attn.{proj}.{e}.weight'] = (d, d)
                keys[f'{pre}self_attn.{proj}.{e}.bias'] = (d, )
            for ln in ('self_attn.inner_attn_ln', 'self_attn_layer_norm',
                       'final_layer_norm'):
                keys[f'{pre}{ln}.{e}.weight'] = (d, )
                keys[f'{pre}{ln}.{e}.bias'] = (d, )
            keys[f'{pre}ffn.{e}.fc1.weight'] = (f, d)
            keys[f'{pre}ffn.{e}.fc1.bias'] = (f, )
            keys[f'{pre}ffn.{e}.fc2.weight'] = (d, f)
            keys[f'{pre}ffn.{e}.fc2.bias'] = (d, )
            keys[f'{pre}ffn.{e}.ffn_layernorm.weight'] = (f, )
            keys[f'{pre}ffn.{e}.ffn_layernorm.bias'] = (f, )
    for e in 'AB':
        keys[f'beit3.encoder.layer_norm.{e}.weight'] = (d, )
        keys[f'beit3.encoder.layer_norm.{e}.bias'] = (d, )
    return keys


def write_official_checkpoint(path: str, layout: Dict[str, Tuple],
                              dtype=None, seed: int = 0,
                              heads: bool = True) -> Dict[str, 'object']:
    """Write ``{'model': state}`` with random tensors in ``layout``, plus
    the pretraining heads (``mlm_head``, ``mim_head``) as released.

    Returns:
        dict: The written state dict.
    """
    import torch
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in layout.items():
        value = torch.randn(shape, generator=gen)
        if key.endswith('weight') and len(shape) == 1:
            value = 1 + 0.2 * value  # LayerNorm scales
        elif len(shape) >= 2 and 'embed' not in key and 'token' not in key:
            value = value / shape[-1]**0.5
        else:
            value = 0.3 * value
        state[key] = value
    if heads:
        d = layout['beit3.text_embed.weight'][1]
        vocab = layout['beit3.text_embed.weight'][0]
        state['mlm_head.weight'] = torch.randn(vocab, d, generator=gen)
        state['mlm_head.bias'] = torch.zeros(vocab)
        state['mim_head.weight'] = torch.randn(64, d, generator=gen)
        state['mim_head.bias'] = torch.zeros(64)
    if dtype is not None:
        state = {k: v.to(dtype) for k, v in state.items()}
    torch.save({'model': state}, path)
    return state


def tiny_beit3_cfg(img_size: int = 64, **kwargs) -> dict:
    """Backbone config of a reduced BEiT-3."""
    cfg = dict(
        type='BEiT3',
        arch=TINY_ARCH,
        img_size=img_size,
        out_indices=(0, 1, 2, 3),
        vocab_size=TINY_VOCAB,
        max_text_positions=TINY_TEXT_POS,
        context_length=8)
    cfg.update(kwargs)
    return cfg
