"""tools/model_converters/asda2mmris.py against the public code's layout.

The "public" checkpoints here are written from a reading of ASDA's public
code (swagger-coder/ASDA at 97bc06c: ``model/model.py`` ``Model.__init__``,
``model/modules.py`` ``SFA`` / ``ConvBatchNormReLU``,
``model/transformer.py``), module by module with the sizes the code
derives, the modules it builds but never calls included - not from the
converter's key table. The full-size test loads the converted file strictly
into the model of ``configs/asda/asda_vitb_refcoco.py``. (Outputs against
the public code itself were compared outside the test suite: see
configs/asda/README.md, "Public-code checkpoints".)
"""
import importlib.util
import os
import os.path as osp
import shutil
from collections import OrderedDict

import pytest
import torch

import mmris  # noqa: F401
from mmris.registry import MODELS
from mmris.utils import register_all_modules

register_all_modules()
_HERE = osp.dirname(__file__)
_ROOT = osp.join(_HERE, '..', '..')
_spec = importlib.util.spec_from_file_location(
    'asda_test_utils', osp.join(_HERE, 'asda_test_utils.py'))
U = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(U)
_spec = importlib.util.spec_from_file_location(
    'asda2mmris',
    osp.join(_ROOT, 'tools', 'model_converters', 'asda2mmris.py'))
C = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(C)


def _conv_bn(name, cin, cout, k):
    """Keys of the public ``ConvBatchNormReLU`` (conv without bias + BN)."""
    return [(f'{name}.conv.weight', (cout, cin, k, k)),
            (f'{name}.bn.weight', (cout, )), (f'{name}.bn.bias', (cout, )),
            (f'{name}.bn.running_mean', (cout, )),
            (f'{name}.bn.running_var', (cout, )),
            (f'{name}.bn.num_batches_tracked', ())]


def _bn(name, c):
    return [(f'{name}.weight', (c, )), (f'{name}.bias', (c, )),
            (f'{name}.running_mean', (c, )), (f'{name}.running_var', (c, )),
            (f'{name}.num_batches_tracked', ())]


def _linear(name, cin, cout, bias=True):
    return [(f'{name}.weight', (cout, cin))] + ([(f'{name}.bias', (cout, ))]
                                                if bias else [])


def _ln(name, c):
    return [(f'{name}.weight', (c, )), (f'{name}.bias', (c, ))]


def _mha(name, c):
    return [(f'{name}.in_proj_weight', (3 * c, c)),
            (f'{name}.in_proj_bias', (3 * c, ))] + _linear(
                f'{name}.out_proj', c, c)


def _clip_block(name, c):
    return (_mha(f'{name}.attn', c) + _ln(f'{name}.ln_1', c) +
            _linear(f'{name}.mlp.c_fc', c, 4 * c) +
            _linear(f'{name}.mlp.c_proj', 4 * c, c) + _ln(f'{name}.ln_2', c))


def public_asda_shapes(vis_width=768, vis_layers=12, patch=16, grid=26,
                       clip_grid=14, embed_dim=512, text_width=512,
                       text_layers=12, vocab=49408, length=17,
                       fusion_dim=768, do=512, wcg_ffn=2048, protos=32):
    """Key -> shape of ``Model(clip_model='ViT-B/16', fusion_dim=768)``'s
    state dict as ``train.py`` saves it, at any size (defaults: full)."""
    w, t, f = vis_width, text_width, fusion_dim
    keys = [('positional_embedding', (1, grid * grid + 1, w)),
            ('textmodel_pos_embed', (1, length, t)),
            # clip_models.visual
            ('visumodel.class_embedding', (w, )),
            ('visumodel.positional_embedding', (clip_grid**2 + 1, w)),
            ('visumodel.proj', (w, embed_dim)),
            ('visumodel.conv1.weight', (w, 3, patch, patch))]
    keys += _ln('visumodel.ln_pre', w)
    for i in range(vis_layers):
        keys += _clip_block(f'visumodel.transformer.resblocks.{i}', w)
    keys += _ln('visumodel.ln_post', w)
    # ResidualAttentionblk wrappers hold the same CLIP blocks
    for i in range(vis_layers):
        keys += _clip_block(f'visu_resblocks.{i}.clip_module', w)
    # text tower
    for i in range(text_layers):
        keys += _clip_block(f'textmodel.resblocks.{i}', t)
    keys += [('textmodel_token_embedding.weight', (vocab, t))]
    keys += _ln('textmodel_ln_final', t)
    keys += _linear('vis_select', w, do, bias=False)
    # Simple_fusion
    keys += _conv_bn('fusion.mapping_visu', w, f, 1)
    keys += _linear('fusion.lang_attn.0', t, t)  # never called
    keys += _linear('fusion.lang_proj.0', t, f)
    keys += _bn('fusion.lang_proj.1', f)
    keys += _bn('fusion.fusion.0', f)
    # modules built but never called
    keys += _conv_bn('up_proj_cat_proj_1.proj1', w, w, 1)
    keys += _conv_bn('up_proj_cat_proj_1.proj2', f + w, f, 1)
    keys += _conv_bn('pool_proj_cat_proj_2.proj1', w, w, 1)
    keys += _conv_bn('pool_proj_cat_proj_2.proj2', f + w, do, 1)
    keys += _conv_bn('proj_cat.proj1', f, do // 2, 1)
    keys += _conv_bn('proj_cat.proj2', do // 2, do, 3)
    keys += _conv_bn('up_proj_cat_2.proj1', 2 * do, 2 * do, 1)
    keys += _conv_bn('up_proj_cat_2.proj2', f + 2 * do, do, 1)
    keys += _conv_bn('proj_0', do, do, 1)
    # SFA(in_channels=visu_dim, out_channels=do), scales 1, 2, 4
    keys += _conv_bn('fpn.stages.0.0', w, do, 1)
    keys += _conv_bn('fpn.stages.0.1', do, do, 3)
    keys += [('fpn.stages.1.0.weight', (w, w // 2, 2, 2)),
             ('fpn.stages.1.0.bias', (w // 2, ))]
    keys += _conv_bn('fpn.stages.1.1', w // 2, do, 1)
    keys += _conv_bn('fpn.stages.1.2', do, do, 3)
    keys += [('fpn.stages.2.0.weight', (w, w // 2, 2, 2)),
             ('fpn.stages.2.0.bias', (w // 2, ))]
    keys += _bn('fpn.stages.2.1', w // 2)
    keys += [('fpn.stages.2.3.weight', (w // 2, w // 4, 2, 2)),
             ('fpn.stages.2.3.bias', (w // 4, ))]
    keys += _conv_bn('fpn.stages.2.4', w // 4, do, 1)
    keys += _conv_bn('fpn.stages.2.5', do, do, 3)
    for i in range(3):
        keys += _conv_bn(f'fpn.lateral_convs.{i}', do, do, 1)
    for i in range(3):
        keys += _conv_bn(f'fpn.output_convs.{i}', do, do, 3)
    keys += _linear('fc_2', do, do, bias=False)
    keys += _ln('norm1', do) + _ln('norm2', do)
    for i in range(2):  # TransformerEncoderLayer(f_dim, ffn f_dim)
        n = f'encoder.layers.{i}'
        keys += (_mha(f'{n}.self_attn', do) + _linear(f'{n}.linear1', do, do)
                 + _linear(f'{n}.linear2', do, do) + _ln(f'{n}.norm1', do) +
                 _ln(f'{n}.norm2', do))
    keys += _ln('encoder.norm', do)
    keys += _conv_bn('mask_decoder.proj1', do, do // 2, 3)
    for j in (2, 3, 4, 5):
        keys += _conv_bn(f'mask_decoder.proj{j}', do // 2, do // 2, 3)
    keys += [('mask_decoder.proj.weight', (protos, do // 2, 3, 3)),
             ('mask_decoder.proj.bias', (protos, ))]
    # lang_tf_enc(do, do, do): dense_q/k/v, attention, norms, FFN 2048
    keys += (_linear('lang_tf_enc.dense_q', do, do) +
             _linear('lang_tf_enc.dense_k', do, do) +
             _linear('lang_tf_enc.dense_v', do, do) +
             _mha('lang_tf_enc.self_attn', do) + _ln('lang_tf_enc.norm1', do)
             + _ln('lang_tf_enc.norm2', do) +
             _linear('lang_tf_enc.linear1', do, wcg_ffn) +
             _linear('lang_tf_enc.linear2', wcg_ffn, do))
    keys += _conv_bn('proj1', do, do, 3) + _conv_bn('proj2', do, do, 3)
    keys += [('proj3.weight', (protos, do, 3, 3)), ('proj3.bias', (protos, ))]
    keys += _linear('projout', grid * grid * protos, protos, bias=False)
    keys += _linear('feature_selector_l', do, 1)
    keys += _linear('feature_selector_m', do, 1)
    return OrderedDict(keys)


#: Public modules the forward pass never calls (or whose output it drops).
UNUSED_PREFIXES = ('visumodel.positional_embedding', 'visumodel.proj',
                   'visumodel.ln_post.', 'fusion.lang_attn.',
                   'up_proj_cat_proj_1.', 'pool_proj_cat_proj_2.',
                   'proj_cat.', 'up_proj_cat_2.', 'proj_0.', 'norm1.',
                   'norm2.', 'fpn.output_convs.0.', 'fpn.output_convs.1.')


def _public_state(shapes, seed=0):
    """Random values; each CLIP block's wrapper copy equals its original."""
    gen = torch.Generator().manual_seed(seed)
    state = OrderedDict()
    for key, shape in shapes.items():
        if key.endswith('num_batches_tracked'):
            state[key] = torch.tensor(7)
        elif key.endswith('running_var'):
            state[key] = torch.rand(shape, generator=gen) + 0.5
        else:
            state[key] = torch.randn(shape, generator=gen) * 0.1
    for key in shapes:
        if key.startswith('visu_resblocks.'):
            i, rest = key[len('visu_resblocks.'):].split('.clip_module.')
            state[key] = state[f'visumodel.transformer.resblocks.{i}.{rest}']
    return state


SMALL = dict(vis_width=64, grid=4, clip_grid=2, embed_dim=32, text_width=32,
             fusion_dim=64, do=32, wcg_ffn=64, protos=4)


def _small_public_model():
    return MODELS.build(
        U.small_segmentor(
            neck=dict(fusion_channels=64),
            head=dict(
                ffn_dims=32, wcg_ffn_dims=64, decoder_channels=16)))


@pytest.fixture(scope='module')
def small_public(tmp_path_factory):
    state = _public_state(public_asda_shapes(**SMALL))
    path = str(tmp_path_factory.mktemp('asda') / 'public.pth.tar')
    torch.save(dict(epoch=3, state_dict=state, best_iou=0.5,
                    optimizer={}), path)
    return state, path


def test_convert_small_strict_load(small_public, tmp_path, capsys):
    state, src = small_public
    dst = str(tmp_path / 'mmris.pth')
    C.main([src, dst])
    log = capsys.readouterr().out
    dropped = [line.strip() for line in log.splitlines()
               if line.startswith('  ')]
    expected = sorted(
        k for k in state
        if k.startswith(UNUSED_PREFIXES) or k.startswith('visu_resblocks.'))
    assert dropped == expected
    ckpt = torch.load(dst, map_location='cpu', weights_only=False)
    assert ckpt['meta']['epoch'] == 3
    model = _small_public_model()
    result = model.load_state_dict(ckpt['state_dict'], strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    # spot checks, public tensor -> the mmris module that plays its part
    pairs = [
        ('positional_embedding', model.backbone.positional_embedding[None]),
        ('textmodel_pos_embed',
         model.backbone.text.positional_embedding[None]),
        ('vis_select.weight', model.neck.afs.cls_proj.weight),
        ('feature_selector_m.bias', model.neck.afs.selectors[1].bias),
        ('fusion.lang_proj.0.bias', model.neck.fusion.txt_proj[0].bias),
        ('fusion.mapping_visu.conv.weight',
         model.neck.fusion.vis_proj.conv.weight),
        ('fpn.stages.2.3.weight', model.neck.sfa.levels[2].up[3].weight),
        ('fpn.stages.2.1.running_var',
         model.neck.sfa.levels[2].up[1].running_var),
        ('fpn.stages.1.1.conv.weight',
         model.neck.sfa.levels[1].proj.conv.weight),
        ('fpn.output_convs.2.conv.weight',
         model.neck.sfa.output_conv.conv.weight),
        ('encoder.layers.1.linear2.weight',
         model.decode_head.cfs.encoder.layers[1].ffn[3].weight),
        ('encoder.layers.0.norm2.weight',
         model.decode_head.cfs.encoder.layers[0].norm3.weight),
        ('encoder.norm.bias', model.decode_head.cfs.encoder.norm.bias),
        ('mask_decoder.proj2.conv.weight',
         model.decode_head.cfs.convs[1].conv.weight),
        ('mask_decoder.proj5.bn.bias',
         model.decode_head.cfs.up_convs[2].bn.bias),
        ('mask_decoder.proj.weight', model.decode_head.cfs.out_conv.weight),
        ('fc_2.weight', model.decode_head.wcg.word_proj.weight),
        ('lang_tf_enc.dense_k.bias',
         model.decode_head.wcg.cross_attn.cross_input_proj.key.bias),
        ('lang_tf_enc.self_attn.in_proj_weight',
         model.decode_head.wcg.cross_attn.cross_attn.in_proj_weight),
        ('lang_tf_enc.norm1.bias',
         model.decode_head.wcg.cross_attn.norm2.bias),
        ('proj3.weight', model.decode_head.wcg.conv3.weight),
        ('projout.weight', model.decode_head.wcg.fc.weight),
        ('textmodel.resblocks.11.mlp.c_fc.weight',
         model.backbone.text.transformer.resblocks[11].mlp.c_fc.weight),
    ]
    for key, param in pairs:
        assert torch.equal(param.detach(), state[key]), key


def test_unknown_and_inconsistent_keys(small_public, tmp_path):
    state, _ = small_public
    bad = dict(state)
    bad['spatial_coord_module.weight'] = torch.zeros(1)
    bad['encoder.layers.0.dropout_x.weight'] = torch.zeros(1)
    with pytest.raises(ValueError, match='encoder.layers.0.dropout_x.weight'
                       '.*spatial_coord_module.weight'):
        C.convert_asda(bad)
    bad = dict(state)
    key = 'visu_resblocks.2.clip_module.ln_1.weight'
    bad[key] = bad[key] + 1
    with pytest.raises(ValueError, match='differs'):
        C.convert_asda(bad)
    incomplete = {k: v for k, v in state.items()
                  if not k.startswith('feature_selector_m.')}
    with pytest.raises(ValueError, match='lacks.*feature_selector_m'):
        C.convert_asda(incomplete)
    # a DataParallel-style prefix is tolerated
    out, _ = C.convert_asda({'module.' + k: v for k, v in state.items()})
    assert 'neck.afs.cls_proj.weight' in out
    bad_file = str(tmp_path / 'bad.pth')
    torch.save(dict(state_dict={'foo.bar': torch.zeros(1)}), bad_file)
    with pytest.raises(SystemExit, match='not a checkpoint'):
        C.main([bad_file, str(tmp_path / 'bad_out.pth')])
    assert not (tmp_path / 'bad_out.pth').exists()


@pytest.fixture(scope='module')
def full_size_converted(tmp_path_factory):
    """A full-size public checkpoint converted with the README command (no
    flags). Cheap values: every tensor holds its index in the state dict."""
    shapes = public_asda_shapes()
    state = OrderedDict()
    for i, (key, shape) in enumerate(shapes.items()):
        state[key] = torch.full(shape, float(i)) if shape else torch.tensor(i)
    for key in shapes:
        if key.startswith('visu_resblocks.'):
            i, rest = key[len('visu_resblocks.'):].split('.clip_module.')
            state[key] = state[f'visumodel.transformer.resblocks.{i}.{rest}']
    tmp = tmp_path_factory.mktemp('asda_full')
    src, dst = str(tmp / 'pub.pth.tar'), str(tmp / 'out.pth')
    torch.save(dict(epoch=0, state_dict=state, best_iou=0.0), src)
    del state
    C.main([src, dst])
    os.remove(src)
    yield {k: i for i, k in enumerate(shapes)}, dst
    # 0.7 GB: do not keep it for the rest of the session.
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.full_size
@pytest.mark.parametrize('config',
                         ['asda_vitb_refcoco.py', 'asda_vitb_refcocog-umd.py'])
def test_full_size_public_checkpoint_loads_strictly(config,
                                                    full_size_converted):
    """The converted full-size file loads with strict=True into the shipped
    configs (RefCOCOg too: the public code uses 17 tokens everywhere)."""
    from mmengine.config import Config
    index, dst = full_size_converted
    cfg = Config.fromfile(osp.join(_ROOT, 'configs', 'asda', config))
    cfg.model.backbone.pretrained = None
    model = MODELS.build(cfg.model)
    ckpt = torch.load(dst, map_location='cpu', weights_only=False)
    result = model.load_state_dict(ckpt['state_dict'], strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert model.decode_head.wcg.fc.weight.unique().item() == index[
        'projout.weight']
    assert model.neck.sfa.levels[2].up[3].bias.unique().item() == index[
        'fpn.stages.2.3.bias']
    assert model.backbone.resblocks[11].ln_2.bias.unique().item() == index[
        'visumodel.transformer.resblocks.11.ln_2.bias']
