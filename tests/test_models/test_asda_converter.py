"""tools/model_converters/asda2mmris.py: a checkpoint in the public code's
key layout (random values, reduced size) converts to a strict-loading mmris
state dict whose model gives the exported model's outputs."""
import importlib.util
import os.path as osp

import pytest
import torch

import mmris  # noqa: F401
from mmris.registry import MODELS
from mmris.utils import register_all_modules

register_all_modules()
_HERE = osp.dirname(__file__)
_spec = importlib.util.spec_from_file_location(
    'asda_test_utils', osp.join(_HERE, 'asda_test_utils.py'))
U = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(U)
_spec = importlib.util.spec_from_file_location(
    'asda2mmris',
    osp.join(_HERE, '..', '..', 'tools', 'model_converters', 'asda2mmris.py'))
C = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(C)

#: the public-code switch settings
PUBLIC = dict(neck=dict(selection='argmax'), head=dict(mask_padding=False))


def _model():
    return MODELS.build(U.small_segmentor(**PUBLIC))


def _randomise(model, seed):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in list(model.state_dict().items()):
            if t.dtype.is_floating_point:
                val = torch.randn(t.shape, generator=gen) * 0.1
                if 'running_var' in name:
                    val = val.abs() + 0.5
                t.copy_(val)


def _to_public(state):
    """Write an mmris state dict in the public code's layout, with its
    duplicated and unused keys."""
    out = {}
    for key, value in state.items():
        for src, dst in C.PREFIX_MAP:
            if C._matches(key, dst):
                new = src + key[len(dst):]
                break
        else:
            raise AssertionError(f'no public key for {key}')
        if new in ('positional_embedding', 'textmodel_pos_embed'):
            value = value[None]
        out[new] = value.clone()
    for key, value in list(out.items()):
        if key.startswith('visumodel.transformer.resblocks.'):
            i, rest = key[len('visumodel.transformer.resblocks.'):].split(
                '.', 1)
            out[f'visu_resblocks.{i}.clip_module.{rest}'] = value.clone()
    width = state['backbone.class_embedding'].shape[0]
    out['visumodel.positional_embedding'] = torch.randn(5, width)
    out['visumodel.ln_post.weight'] = torch.randn(width)
    out['visumodel.ln_post.bias'] = torch.randn(width)
    out['visumodel.proj'] = torch.randn(width, 32)
    out['logit_scale'] = torch.tensor(4.6)
    return out


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    torch.manual_seed(0)
    model = _model()
    _randomise(model, seed=1)
    path = str(tmp_path_factory.mktemp('asda') / 'public.pth')
    torch.save(
        dict(epoch=3, state_dict=_to_public(model.state_dict()),
             best_iou=0.5, optimizer={}), path)
    return model.eval(), path


def _outputs(model, images, texts):
    metas = [dict(text=t) for t in texts]
    with torch.no_grad():
        feats = model.extract_feat(images, metas)
        out = model.decode_head.forward_branches(feats)
    return feats, out


def test_convert_strict_load_and_equal_outputs(exported, tmp_path, capsys):
    original, src = exported
    dst = str(tmp_path / 'mmris.pth')
    C.main([src, dst])
    log = capsys.readouterr().out
    assert 'visu_resblocks.0.clip_module.attn.in_proj_weight' in log
    assert 'visumodel.ln_post.weight' in log and 'logit_scale' in log
    ckpt = torch.load(dst, map_location='cpu', weights_only=False)
    assert ckpt['meta']['epoch'] == 3
    torch.manual_seed(123)
    fresh = _model()
    result = fresh.load_state_dict(ckpt['state_dict'], strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    fresh.eval()
    # values land on the right parameters
    ref = original.state_dict()
    for key, value in fresh.state_dict().items():
        assert torch.equal(value, ref[key]), key
    public = torch.load(src, weights_only=False)['state_dict']
    torch.testing.assert_close(fresh.neck.afs.cls_proj.weight,
                               public['vis_select.weight'])
    torch.testing.assert_close(fresh.backbone.positional_embedding,
                               public['positional_embedding'][0])
    torch.testing.assert_close(fresh.decode_head.wcg.fc.weight,
                               public['projout.weight'])
    torch.testing.assert_close(
        fresh.backbone.text.transformer.resblocks[1].mlp.c_fc.weight,
        public['textmodel.resblocks.1.mlp.c_fc.weight'])
    # same outputs as the exported model
    images = torch.randn(3, 3, U.IMG, U.IMG)
    texts = U.TEXTS[:3]
    f0, o0 = _outputs(original, images, texts)
    f1, o1 = _outputs(fresh, images, texts)
    assert torch.equal(f0.extras['asda_selection']['index'],
                       f1.extras['asda_selection']['index'])
    for key in o0:
        torch.testing.assert_close(o0[key], o1[key], rtol=0, atol=0)


def test_unknown_and_inconsistent_keys(exported):
    _, src = exported
    state = torch.load(src, weights_only=False)['state_dict']
    bad = dict(state)
    bad['spatial_coord_module.weight'] = torch.zeros(1)
    bad['aux_head.bias'] = torch.zeros(1)
    with pytest.raises(ValueError, match='aux_head.bias.*spatial_coord'):
        C.convert_asda(bad)
    out, dropped = C.convert_asda(
        bad, extra_drop=['spatial_coord_module.', 'aux_head.'])
    assert 'aux_head.bias' in dropped
    assert not any(k.startswith(('spatial', 'aux')) for k in out)
    bad = dict(state)
    key = 'visu_resblocks.2.clip_module.ln_1.weight'
    bad[key] = bad[key] + 1
    with pytest.raises(ValueError, match='differs'):
        C.convert_asda(bad)
    # a DataParallel-style prefix is tolerated
    out, _ = C.convert_asda({'module.' + k: v for k, v in state.items()})
    assert 'neck.afs.cls_proj.weight' in out
