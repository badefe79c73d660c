"""Convert a checkpoint of ASDA's public code to an mmris state dict.

Usage::

    python tools/model_converters/asda2mmris.py SRC.pth.tar DST.pth

The public code (``swagger-coder/ASDA`` at 97bc06c; ``train.py`` saves
``{'epoch', 'state_dict', 'best_iou', 'optimizer'}`` with
``model.module.state_dict()``, no ``module.`` prefix) builds ``Model`` of
``model/model.py``. Its keys map onto the model of
``configs/asda/asda_vitb_refcoco.py`` (and its dataset variants):
:class:`~mmris.models.backbones.CLIPViT` ->
:class:`~mmris.models.necks.ASDANeck` ->
:class:`~mmris.models.heads.WGDAHead`, by the rules of :data:`RULES`
(regular expressions, first match wins).

Dropped, and listed on the console (:data:`UNUSED`):

* ``visu_resblocks.{i}.clip_module.*``: the same tensors as
  ``visumodel.transformer.resblocks.{i}.*`` (the wrapper holds the CLIP
  block); checked equal, then dropped;
* modules the public model builds but never calls in ``forward``:
  ``visumodel.positional_embedding`` (only read at construction),
  ``visumodel.ln_post``, ``visumodel.proj``, ``fusion.lang_attn``,
  ``up_proj_cat_proj_1``, ``pool_proj_cat_proj_2``, ``proj_cat``,
  ``up_proj_cat_2``, ``proj_0``, ``norm1``, ``norm2`` and
  ``fpn.output_convs.0`` (the top-down loop skips index 0);
* ``fpn.output_convs.1``: called, but its output is discarded (SFA returns
  only the finest level), so it has no effect on the model's output.

Anything else that no rule maps is an error naming the keys, and so is a
public module of which the file holds no key: the file is then not a
checkpoint of this public model.
"""
import argparse
import re
from collections import OrderedDict
from typing import Dict, List, Mapping, Sequence, Tuple

import torch
from torch import Tensor

__all__ = ['RULES', 'UNUSED', 'convert_asda', 'main']

_SFA_STAGE = {
    # (stage, index in the public nn.Sequential) -> mmris name; the
    # transposed-conv parts keep their index inside ``up``.
    ('0', '0'): 'proj', ('0', '1'): 'conv',
    ('1', '0'): 'up.0', ('1', '1'): 'proj', ('1', '2'): 'conv',
    ('2', '0'): 'up.0', ('2', '1'): 'up.1', ('2', '3'): 'up.3',
    ('2', '4'): 'proj', ('2', '5'): 'conv',
}
_MASK_DECODER = {
    'proj1': 'convs.0', 'proj2': 'convs.1', 'proj3': 'up_convs.0',
    'proj4': 'up_convs.1', 'proj5': 'up_convs.2', 'proj': 'out_conv'
}
# DETR layer / lang_tf_enc -> mmris.models.layers.TransformerLayer
_ENCODER = {
    'self_attn': 'self_attn', 'linear1': 'ffn.0', 'linear2': 'ffn.3',
    'norm1': 'norm1', 'norm2': 'norm3'
}
_LANG_TF_ENC = {
    'dense_q': 'cross_input_proj.query', 'dense_k': 'cross_input_proj.key',
    'dense_v': 'cross_input_proj.value', 'self_attn': 'cross_attn',
    'norm1': 'norm2', 'norm2': 'norm3', 'linear1': 'ffn.0',
    'linear2': 'ffn.3'
}

#: (regex on the public key, function of the match -> mmris key).
RULES: Tuple[Tuple[str, object], ...] = (
    # CLIP image tower; the 26x26 positional embedding replaces CLIP's.
    (r'visumodel\.(conv1\..+|class_embedding|ln_pre\..+)$',
     lambda m: f'backbone.{m[1]}'),
    (r'visumodel\.transformer\.resblocks\.(.+)$',
     lambda m: f'backbone.resblocks.{m[1]}'),
    (r'positional_embedding$', lambda m: 'backbone.positional_embedding'),
    # CLIP text tower (17 tokens, no text projection).
    (r'textmodel\.resblocks\.(.+)$',
     lambda m: f'backbone.text.transformer.resblocks.{m[1]}'),
    (r'textmodel_token_embedding\.(.+)$',
     lambda m: f'backbone.text.token_embedding.{m[1]}'),
    (r'textmodel_pos_embed$', lambda m: 'backbone.text.positional_embedding'),
    (r'textmodel_ln_final\.(.+)$', lambda m: f'backbone.text.ln_final.{m[1]}'),
    # AFS (Eq. 1-3).
    (r'vis_select\.(.+)$', lambda m: f'neck.afs.cls_proj.{m[1]}'),
    (r'feature_selector_l\.(.+)$', lambda m: f'neck.afs.selectors.0.{m[1]}'),
    (r'feature_selector_m\.(.+)$', lambda m: f'neck.afs.selectors.1.{m[1]}'),
    # Fusion F_G (Eq. 4).
    (r'fusion\.mapping_visu\.(.+)$',
     lambda m: f'neck.fusion.vis_proj.{m[1]}'),
    (r'fusion\.lang_proj\.(.+)$', lambda m: f'neck.fusion.txt_proj.{m[1]}'),
    (r'fusion\.fusion\.(.+)$', lambda m: f'neck.fusion.norm_act.{m[1]}'),
    # SFA (Eq. 5).
    (r'fpn\.stages\.(\d)\.(\d)\.(.+)$', lambda m: 'neck.sfa.levels.'
     f'{m[1]}.{_SFA_STAGE[(m[1], m[2])]}.{m[3]}'
     if (m[1], m[2]) in _SFA_STAGE else None),
    (r'fpn\.lateral_convs\.(\d)\.(.+)$',
     lambda m: f'neck.sfa.lateral_convs.{m[1]}.{m[2]}'),
    (r'fpn\.output_convs\.2\.(.+)$',
     lambda m: f'neck.sfa.output_conv.{m[1]}'),
    # CFS (Eq. 6-7).
    (r'encoder\.layers\.(\d+)\.([a-z_0-9]+)\.(.+)$',
     lambda m: f'decode_head.cfs.encoder.layers.{m[1]}.{_ENCODER[m[2]]}.'
     f'{m[3]}' if m[2] in _ENCODER else None),
    (r'encoder\.norm\.(.+)$',
     lambda m: f'decode_head.cfs.encoder.norm.{m[1]}'),
    (r'mask_decoder\.(proj\d?)\.(.+)$',
     lambda m: f'decode_head.cfs.{_MASK_DECODER[m[1]]}.{m[2]}'
     if m[1] in _MASK_DECODER else None),
    # WCG (Eq. 8-9).
    (r'fc_2\.(.+)$', lambda m: f'decode_head.wcg.word_proj.{m[1]}'),
    (r'lang_tf_enc\.([a-z_0-9]+)\.(.+)$',
     lambda m: f'decode_head.wcg.cross_attn.{_LANG_TF_ENC[m[1]]}.{m[2]}'
     if m[1] in _LANG_TF_ENC else None),
    (r'proj([12])\.(.+)$', lambda m: f'decode_head.wcg.conv{m[1]}.{m[2]}'),
    (r'proj3\.(.+)$', lambda m: f'decode_head.wcg.conv3.{m[1]}'),
    (r'projout\.(.+)$', lambda m: f'decode_head.wcg.fc.{m[1]}'),
)

#: Key patterns of public modules that never influence the output.
UNUSED: Tuple[str, ...] = (
    r'visumodel\.positional_embedding$',
    r'visumodel\.ln_post\..+',
    r'visumodel\.proj$',
    r'fusion\.lang_attn\..+',
    r'up_proj_cat_proj_1\..+',
    r'pool_proj_cat_proj_2\..+',
    r'proj_cat\..+',
    r'up_proj_cat_2\..+',
    r'proj_0\..+',
    r'norm[12]\..+',
    r'fpn\.output_convs\.[01]\..+',
)

#: mmris keys whose leading singleton dimension is removed.
_SQUEEZE = ('backbone.positional_embedding',
            'backbone.text.positional_embedding')

_DUPLICATE = re.compile(r'^visu_resblocks\.(\d+)\.clip_module\.(.+)$')


def _strip_prefix(state: Mapping[str, Tensor]) -> Dict[str, Tensor]:
    keys = list(state)
    if keys and all(k.startswith('module.') for k in keys):
        return {k[len('module.'):]: v for k, v in state.items()}
    return dict(state)


def convert_asda(state_dict: Mapping[str, Tensor]
                 ) -> Tuple['OrderedDict[str, Tensor]', List[str]]:
    """Rename a public-code ASDA state dict to mmris keys.

    Args:
        state_dict (Mapping[str, Tensor]): The public checkpoint's
            ``state_dict`` (a leading ``module.`` is stripped).

    Returns:
        tuple: The mmris state dict (``backbone.*``, ``neck.*``,
        ``decode_head.*``) and the sorted list of dropped public keys.

    Raises:
        ValueError: Keys that no rule maps (listed), a public module with
            no key at all (listed), a ``visu_resblocks`` copy that differs
            from its ``visumodel`` original, or two keys mapped to one.
    """
    state = _strip_prefix(state_dict)
    out: 'OrderedDict[str, Tensor]' = OrderedDict()
    dropped, unknown = [], []
    unused = [re.compile(p) for p in UNUSED]
    rules = [(re.compile(p), f) for p, f in RULES]
    hit = [False] * len(rules)
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
        if any(p.fullmatch(key) for p in unused):
            dropped.append(key)
            continue
        for r, (pattern, rename) in enumerate(rules):
            match = pattern.fullmatch(key)
            if match:
                new_key = rename(match)
                if new_key is None:
                    continue
                hit[r] = True
                if new_key in out:
                    raise ValueError(f'{key} maps to {new_key}, already set')
                if new_key in _SQUEEZE and value.dim() == 3:
                    value = value[0]
                out[new_key] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise ValueError(
            f'{len(unknown)} key(s) of the checkpoint belong to no module of '
            "ASDA's public model (swagger-coder/ASDA at 97bc06c); this is "
            'not a checkpoint of that code: ' + ', '.join(sorted(unknown)))
    absent = [RULES[r][0] for r in range(len(rules)) if not hit[r]]
    if absent:
        raise ValueError(
            'the checkpoint lacks modules of ASDA\'s public model (no key '
            'matches ' + ', '.join(absent) + '); this is not a complete '
            'checkpoint of swagger-coder/ASDA at 97bc06c')
    return out, sorted(dropped)


def main(argv: Sequence[str] = None) -> None:
    """Command-line entry: convert SRC to DST."""
    parser = argparse.ArgumentParser(
        description='Convert a checkpoint of ASDA\'s public code to mmris.')
    parser.add_argument('src', help='public-code checkpoint (.pth.tar)')
    parser.add_argument('dst', help='output mmris checkpoint (.pth)')
    args = parser.parse_args(argv)
    # A trusted file written by the public code holds numpy / python objects
    # next to the tensors (optimizer state), hence weights_only=False.
    ckpt = torch.load(args.src, map_location='cpu', weights_only=False)
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt
    try:
        new_state, dropped = convert_asda(state)
    except ValueError as err:
        raise SystemExit(f'{args.src}: {err}')
    print(f'converted {len(new_state)} tensors; dropped {len(dropped)} keys '
          '(duplicated visu_resblocks copies and modules the public model '
          'never uses):')
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
