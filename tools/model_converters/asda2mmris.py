"""Convert a checkpoint of ASDA's public code to an mmris state dict.

Usage::

    python tools/model_converters/asda2mmris.py SRC.pth DST.pth [--drop P ...]

The public code (``swagger-coder/ASDA``) saves ``{'epoch', 'state_dict',
'best_iou', 'optimizer'}`` with no ``module.`` prefix. Its keys map onto a
:class:`~mmris.models.segmentors.RefSegmentor` with
``CLIPViT(out_indices=(3, 4, 5, 6, 7, 8, 11), project_sentence=False)``,
``ASDANeck(selection='argmax')`` and ``WGDAHead(mask_padding=False)`` (the
settings in which the converted model reproduces the original outputs) by
the prefix table :data:`PREFIX_MAP` (first match wins; entries ending
without a dot match the whole key).

Handled specially:

* ``visu_resblocks.{i}.clip_module.*`` duplicates
  ``visumodel.transformer.resblocks.{i}.*``: checked equal, then dropped.
* ``positional_embedding`` [1, 1+G*G, C] and ``textmodel_pos_embed``
  [1, L, C] lose their leading 1.
* :data:`DROP_PREFIXES`: CLIP modules the RIS model does not use (the
  224-px positional embedding, ``ln_post``, the projections,
  ``logit_scale``). They and ``--drop`` prefixes are removed and listed.

Any other key is an error listing the unknown keys (add them to ``--drop``
if they belong to modules the forward pass does not use).

Assumptions (the notes name the top-level modules, not every sub-key): the
sub-keys under each public prefix are laid out like mmris's modules:
``vis_select`` is one shared ``Linear(768 -> 512, no bias)`` (Eq. 1's
Phi_T); ``feature_selector_{l,m}`` the per-group ``Linear(512 -> 1)``;
``fusion`` = {``vis_proj``, ``txt_proj``, ``norm_act``}; ``fpn`` = the SFA
blocks; ``encoder.{i}`` the attention layers; ``mask_decoder`` the
(up, conv3x3) steps + final 1x1 conv; ``lang_tf_enc`` the word
cross-attention layer; ``fc_2`` the word Linear(512 -> 512) before it;
``proj1``, ``proj2``, ``proj3`` the two 3x3 convs and the 1x1 conv of the
coefficient generator and ``projout`` its final Linear. If a real checkpoint
differs in a sub-key, edit :data:`PREFIX_MAP` (or add a rename rule) -
strict loading then reports exactly the mismatching names.
"""
import argparse
import re
from collections import OrderedDict
from typing import Dict, List, Mapping, Sequence, Tuple

import torch
from torch import Tensor

__all__ = ['PREFIX_MAP', 'DROP_PREFIXES', 'convert_asda', 'main']

#: (public-code prefix, mmris prefix), checked in order.
PREFIX_MAP: Tuple[Tuple[str, str], ...] = (
    # CLIP image tower (positional embedding replaced by the 26x26 one).
    ('visumodel.conv1.', 'backbone.conv1.'),
    ('visumodel.class_embedding', 'backbone.class_embedding'),
    ('visumodel.ln_pre.', 'backbone.ln_pre.'),
    ('visumodel.transformer.resblocks.', 'backbone.resblocks.'),
    ('positional_embedding', 'backbone.positional_embedding'),
    # CLIP text tower (length 17 / 22, no text projection).
    ('textmodel.resblocks.', 'backbone.text.transformer.resblocks.'),
    ('textmodel_token_embedding.', 'backbone.text.token_embedding.'),
    ('textmodel_pos_embed', 'backbone.text.positional_embedding'),
    ('textmodel_ln_final.', 'backbone.text.ln_final.'),
    # AFS (Eq. 1-3), fusion (Eq. 4), SFA (Eq. 5).
    ('vis_select.', 'neck.afs.cls_proj.'),
    ('feature_selector_l.', 'neck.afs.selectors.0.'),
    ('feature_selector_m.', 'neck.afs.selectors.1.'),
    ('fusion.', 'neck.fusion.'),
    ('fpn.', 'neck.sfa.'),
    # CFS (Eq. 6-7).
    ('encoder.', 'decode_head.cfs.encoder.'),
    ('mask_decoder.', 'decode_head.cfs.mask_decoder.'),
    # WCG (Eq. 8-9).
    ('fc_2.', 'decode_head.wcg.word_proj.0.'),
    ('lang_tf_enc.', 'decode_head.wcg.cross_attn.'),
    ('proj1.', 'decode_head.wcg.conv1.'),
    ('proj2.', 'decode_head.wcg.conv2.'),
    ('proj3.', 'decode_head.wcg.conv3.'),
    ('projout.', 'decode_head.wcg.fc.'),
)

#: Public-code keys of modules the forward pass does not use.
DROP_PREFIXES: Tuple[str, ...] = (
    'visumodel.positional_embedding',
    'visumodel.ln_post.',
    'visumodel.proj',
    'visumodel.attnpool.',
    'textmodel_text_projection',
    'text_projection',
    'logit_scale',
)

#: Keys whose leading singleton dimension mmris does not keep.
_SQUEEZE = ('backbone.positional_embedding',
            'backbone.text.positional_embedding')

_DUPLICATE = re.compile(r'^visu_resblocks\.(\d+)\.clip_module\.(.+)$')


def _strip_prefix(state: Mapping[str, Tensor]) -> Dict[str, Tensor]:
    keys = list(state)
    if keys and all(k.startswith('module.') for k in keys):
        return {k[len('module.'):]: v for k, v in state.items()}
    return dict(state)


def _matches(key: str, prefix: str) -> bool:
    return key.startswith(prefix) if prefix.endswith('.') else (
        key == prefix or key.startswith(prefix + '.'))


def convert_asda(state_dict: Mapping[str, Tensor],
                 extra_drop: Sequence[str] = ()
                 ) -> Tuple['OrderedDict[str, Tensor]', List[str]]:
    """Rename a public-code ASDA state dict to mmris keys.

    Args:
        state_dict (Mapping[str, Tensor]): The public checkpoint's
            ``state_dict`` (a leading ``module.`` is stripped).
        extra_drop (Sequence[str]): Further key prefixes to drop (unused
            modules of the public code).

    Returns:
        tuple: The mmris state dict (``backbone.*``, ``neck.*``,
        ``decode_head.*``) and the sorted list of dropped keys.

    Raises:
        ValueError: Unknown keys (listed), or a ``visu_resblocks`` duplicate
            that differs from its ``visumodel`` original.
    """
    state = _strip_prefix(state_dict)
    drop = tuple(DROP_PREFIXES) + tuple(extra_drop)
    out: 'OrderedDict[str, Tensor]' = OrderedDict()
    dropped, unknown = [], []
    for key, value in state.items():
        dup = _DUPLICATE.match(key)
        if dup:
            orig = f'visumodel.transformer.resblocks.{dup[1]}.{dup[2]}'
            if orig not in state:
                raise ValueError(f'{key} duplicates {orig}, which is missing')
            if not torch.equal(state[orig], value):
                raise ValueError(f'{key} differs from its original {orig}; '
                                 'the checkpoint is not the expected layout')
            dropped.append(key)
            continue
        if any(_matches(key, p) for p in drop):
            dropped.append(key)
            continue
        for src, dst in PREFIX_MAP:
            if _matches(key, src):
                new_key = dst + key[len(src):]
                if new_key in _SQUEEZE and value.dim() == 3:
                    value = value[0]
                out[new_key] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise ValueError(
            f'{len(unknown)} unknown key(s) in the ASDA checkpoint (add '
            'their prefixes to --drop if those modules are unused): ' +
            ', '.join(sorted(unknown)))
    return out, sorted(dropped)


def main(argv: Sequence[str] = None) -> None:
    """Command-line entry: convert SRC to DST."""
    parser = argparse.ArgumentParser(
        description='Convert a checkpoint of ASDA\'s public code to mmris.')
    parser.add_argument('src', help='public-code checkpoint (.pth)')
    parser.add_argument('dst', help='output mmris checkpoint (.pth)')
    parser.add_argument(
        '--drop',
        nargs='*',
        default=[],
        help='extra key prefixes of unused modules to drop')
    args = parser.parse_args(argv)
    # A trusted file written by the public code holds numpy / python objects
    # next to the tensors, hence weights_only=False.
    ckpt = torch.load(args.src, map_location='cpu', weights_only=False)
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt
    new_state, dropped = convert_asda(state, args.drop)
    print(f'converted {len(new_state)} tensors; dropped {len(dropped)} '
          'unused / duplicated keys:')
    for key in dropped:
        print(f'  {key}')
    meta = dict(converted_from=args.src, converter='asda2mmris')
    if isinstance(ckpt, dict):
        for k in ('epoch', 'best_iou'):
            if k in ckpt:
                meta[k] = ckpt[k]
    torch.save(dict(meta=meta, state_dict=new_state), args.dst)
    print(f'saved to {args.dst}')


if __name__ == '__main__':
    main()
