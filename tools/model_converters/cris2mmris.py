"""Convert a checkpoint of the public CRIS code into an mmris checkpoint.

The public code (``DerrickWang005/CRIS.pytorch``) saves
``{'epoch', 'cur_iou', 'best_iou', 'prec', 'state_dict', 'optimizer',
'scheduler'}`` with ``state_dict`` keys prefixed by ``module.``. The result
``{'state_dict': ..., 'meta': ...}`` loads (strictly) into
``RefSegmentor(backbone=CLIPResNet, neck=CRISNeck, decode_head=CRISHead)``
with the matching sizes (``kernel_size=3``, ``quick_gelu=True``), e.g. with
``tools/test.py CONFIG DST``.

The public code keeps CLIP's whole text positional embedding (77 rows; its
``model/clip.py`` builds ``positional_embedding`` with CLIP's
``context_length`` and its forward reads the first ``word_len`` rows). The
converter cuts it to the mmris config's text length, taken from
``--config`` (``model.backbone.context_length``) or ``--context-length``;
with neither it keeps all rows, and the mmris text encoder reads the first
``context_length`` rows when the file is loaded (as the public forward
does), so the file loads into any CRIS config.

Usage::

    python tools/model_converters/cris2mmris.py SRC.pth DST.pth \
        [--config configs/cris/CONFIG.py | --context-length 17]
"""
import argparse
import os
import os.path as osp
import warnings
from collections import OrderedDict
from typing import Dict, Optional, Tuple

import torch
from torch import Tensor

__all__ = ['KEY_MAP', 'DROPPED_KEYS', 'convert_cris', 'convert_file']

#: Prefix renaming table, public key (without ``module.``) -> mmris key.
#: The longest matching public prefix wins; the rest of the key is kept.
#: In the public code a "conv layer" is Sequential(Conv2d, BN, ReLU), mmris
#: uses mmcv's ConvModule (``conv``, ``bn``).
KEY_MAP: Tuple[Tuple[str, str], ...] = (
    # --- backbone: CLIP (OpenAI layout) ---------------------------------
    ('backbone.visual.', 'backbone.visual.'),  # incl. attnpool.connect.0/1
    ('backbone.token_embedding.', 'backbone.text.token_embedding.'),
    ('backbone.positional_embedding', 'backbone.text.positional_embedding'),
    ('backbone.transformer.', 'backbone.text.transformer.'),
    ('backbone.ln_final.', 'backbone.text.ln_final.'),
    ('backbone.text_projection', 'backbone.text.text_projection'),
    # --- neck (public FPN -> CRISNeck) -----------------------------------
    ('neck.txt_proj.0.', 'neck.sentence_proj.0.'),  # Linear W_s (Eq. 1)
    ('neck.txt_proj.1.', 'neck.sentence_proj.1.'),  # BN1d
    ('neck.f1_v_proj.0.', 'neck.v4_proj.conv.'),  # W_v4 (Eq. 1)
    ('neck.f1_v_proj.1.', 'neck.v4_proj.bn.'),
    ('neck.norm_layer.0.', 'neck.fuse_norm.0.'),
    ('neck.f2_v_proj.0.', 'neck.v3_proj.conv.'),  # W_v3 (Eq. 2)
    ('neck.f2_v_proj.1.', 'neck.v3_proj.bn.'),
    ('neck.f2_cat.0.', 'neck.m3_fuse.conv.'),
    ('neck.f2_cat.1.', 'neck.m3_fuse.bn.'),
    ('neck.f3_v_proj.0.', 'neck.v2_proj.conv.'),  # W_v2 (Eq. 2)
    ('neck.f3_v_proj.1.', 'neck.v2_proj.bn.'),
    ('neck.f3_cat.0.', 'neck.m2_fuse.conv.'),
    ('neck.f3_cat.1.', 'neck.m2_fuse.bn.'),
    ('neck.f4_proj5.0.', 'neck.agg_proj4.conv.'),  # Eq. 3
    ('neck.f4_proj5.1.', 'neck.agg_proj4.bn.'),
    ('neck.f4_proj4.0.', 'neck.agg_proj3.conv.'),
    ('neck.f4_proj4.1.', 'neck.agg_proj3.bn.'),
    ('neck.f4_proj3.0.', 'neck.agg_proj2.conv.'),
    ('neck.f4_proj3.1.', 'neck.agg_proj2.bn.'),
    ('neck.aggr.0.', 'neck.aggregate.conv.'),
    ('neck.aggr.1.', 'neck.aggregate.bn.'),
    ('neck.coordconv.0.conv1.0.', 'neck.coord_conv.conv.'),  # Eq. 4
    ('neck.coordconv.0.conv1.1.', 'neck.coord_conv.bn.'),
    ('neck.coordconv.1.0.', 'neck.out_conv.conv.'),
    ('neck.coordconv.1.1.', 'neck.out_conv.bn.'),
    # --- decoder (Eq. 5-7) -----------------------------------------------
    # layers.{i}.{self_attn, self_attn_norm, cross_attn_norm, ffn.{0,3,4},
    # norm1, norm2, norm3} keep their names; multihead_attn is renamed.
    ('decoder.layers.', 'decode_head.decoder.layers.'),
    ('decoder.norm.', 'decode_head.decoder.norm.'),
    # --- projector (Eq. 8) -----------------------------------------------
    ('proj.vis.1.0.', 'decode_head.vis_proj.1.conv.'),
    ('proj.vis.1.1.', 'decode_head.vis_proj.1.bn.'),
    ('proj.vis.3.0.', 'decode_head.vis_proj.3.conv.'),
    ('proj.vis.3.1.', 'decode_head.vis_proj.3.bn.'),
    ('proj.vis.4.', 'decode_head.vis_proj.4.'),
    ('proj.txt.', 'decode_head.txt_proj.'),
)

#: Renaming inside a decoder layer (applied after ``KEY_MAP``).
DECODER_RENAMES: Tuple[Tuple[str, str], ...] = (('.multihead_attn.',
                                                 '.cross_attn.'), )

#: Public keys with no counterpart (CLIP's contrastive temperature).
DROPPED_KEYS: Tuple[str, ...] = ('backbone.logit_scale', )


def _map_key(key: str) -> Optional[str]:
    best = None
    for src, dst in KEY_MAP:
        if key.startswith(src) and (best is None or len(src) > len(best[0])):
            best = (src, dst)
    if best is None:
        return None
    src, dst = best
    rest = key[len(src):]
    if src == dst or src.endswith('.') or rest == '':
        new = dst + rest
    else:  # a parameter prefix matched a longer name: not ours
        return None
    if new.startswith('decode_head.decoder.layers.'):
        for old, repl in DECODER_RENAMES:
            new = new.replace(old, repl)
    return new


def convert_cris(state_dict: Dict[str, Tensor],
                 context_length: Optional[int] = None
                 ) -> 'OrderedDict[str, Tensor]':
    """Rename a public CRIS state dict to mmris keys.

    Args:
        state_dict (dict[str, Tensor]): The public model's state dict (with
            or without the ``module.`` prefix of DistributedDataParallel).
        context_length (int, optional): Text length of the mmris model; the
            public code's 77-row text positional embedding is cut to it.
            None keeps every row.

    Returns:
        OrderedDict[str, Tensor]: The mmris state dict.

    Raises:
        KeyError: Listing every key the table does not know.
    """
    out: 'OrderedDict[str, Tensor]' = OrderedDict()
    unknown = []
    for key, value in state_dict.items():
        name = key[len('module.'):] if key.startswith('module.') else key
        if name in DROPPED_KEYS:
            continue
        new = _map_key(name)
        if new is None:
            unknown.append(key)
            continue
        if new in out:
            raise KeyError(f'two keys map to {new}: check the table')
        out[new] = value
    if unknown:
        raise KeyError(
            f'{len(unknown)} keys of the checkpoint are not in the CRIS key '
            'table of cris2mmris.py (is it a CRIS checkpoint?):\n  ' +
            '\n  '.join(unknown))
    pos_key = 'backbone.text.positional_embedding'
    if context_length is not None and pos_key in out:
        pos = out[pos_key]
        if pos.shape[0] < context_length:
            raise ValueError(f'the checkpoint holds {pos.shape[0]} text '
                             f'positions, fewer than {context_length}')
        out[pos_key] = pos[:context_length].clone()
    return out


def _load(path: str) -> dict:
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except Exception:  # optimizer/scheduler state may hold other objects
        warnings.warn(f'{path} is not loadable with weights_only=True; '
                      'loading it as a trusted pickle.')
        return torch.load(path, map_location='cpu', weights_only=False)


def context_length_from_config(config: str) -> int:
    """``model.backbone.context_length`` of an mmris config file.

    Args:
        config (str): Path of the config.

    Returns:
        int: The text length.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    try:
        return int(cfg.model.backbone.context_length)
    except (AttributeError, KeyError, TypeError) as err:
        raise ValueError(f'{config} sets no model.backbone.context_length'
                         ) from err


def convert_file(src: str,
                 dst: str,
                 context_length: Optional[int] = None) -> dict:
    """Convert the checkpoint file ``src`` and save it to ``dst``.

    Args:
        src (str): Checkpoint of the public code.
        dst (str): mmris checkpoint to write.
        context_length (int, optional): Cut the text positional embedding
            to this many rows (None keeps them).

    Returns:
        dict: The saved checkpoint ``{'state_dict', 'meta'}``; ``meta``
        lists the ``dropped`` keys.
    """
    ckpt = _load(src)
    state_dict = ckpt.get('state_dict', ckpt) if isinstance(ckpt,
                                                            dict) else None
    if not isinstance(state_dict, dict):
        raise TypeError(f'{src} holds no state_dict')
    names = [k[len('module.'):] if k.startswith('module.') else k
             for k in state_dict]
    meta = dict(
        converted_from='DerrickWang005/CRIS.pytorch',
        source=osp.basename(src),
        dropped=[k for k in names if k in DROPPED_KEYS])
    for key in ('epoch', 'cur_iou', 'best_iou', 'prec'):
        if key in ckpt and isinstance(ckpt[key], (int, float, str, dict)):
            meta[key] = ckpt[key]
    out = dict(
        state_dict=convert_cris(state_dict, context_length), meta=meta)
    if osp.dirname(dst):
        os.makedirs(osp.dirname(dst), exist_ok=True)
    torch.save(out, dst)
    return out


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert a CRIS.pytorch checkpoint to mmris.')
    parser.add_argument('src', help='checkpoint of the public CRIS code')
    parser.add_argument('dst', help='mmris checkpoint to write')
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        '--config',
        default=None,
        help='mmris config whose model.backbone.context_length the text '
        'positional embedding is cut to')
    group.add_argument(
        '--context-length',
        type=int,
        default=None,
        help='cut the text positional embedding to this length')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    length = args.context_length
    if args.config is not None:
        length = context_length_from_config(args.config)
    out = convert_file(args.src, args.dst, length)
    pos = out['state_dict'].get('backbone.text.positional_embedding')
    print(f'converted {len(out["state_dict"])} tensors: {args.dst}')
    print(f'dropped {len(out["meta"]["dropped"])} key(s) with no mmris '
          'counterpart: ' + (', '.join(out['meta']['dropped']) or 'none'))
    if pos is not None:
        if length is None:
            print(f'text positional embedding kept at {pos.shape[0]} rows '
                  '(the model reads the first context_length rows on load)')
        else:
            print(f'text positional embedding cut to its first {length} '
                  'rows')


if __name__ == '__main__':
    main()
