"""ASDANeck: AFS selection depends on the sentence, gets gradient only in
the learnable modes, and the SFA / ablation variants have the right shapes."""
import importlib.util
import os.path as osp

import pytest
import torch

import mmris  # noqa: F401
from mmris.registry import MODELS
from mmris.structures import VLFeatures
from mmris.utils import register_all_modules

register_all_modules()
_spec = importlib.util.spec_from_file_location(
    'asda_test_utils', osp.join(osp.dirname(__file__), 'asda_test_utils.py'))
U = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(U)


def _feats(batch=2, seed=0, same_image=False, requires_grad=False):
    gen = torch.Generator().manual_seed(seed)
    n = 1 if same_image else batch
    visual = [torch.randn(n, 64, 4, 4, generator=gen) for _ in range(7)]
    cls = [torch.randn(n, 64, generator=gen) for _ in range(7)]
    if same_image:
        visual = [v.expand(batch, -1, -1, -1).clone() for v in visual]
        cls = [c.expand(batch, -1).clone() for c in cls]
    for t in visual + cls:
        t.requires_grad_(requires_grad)
    words = torch.randn(batch, 17, 32, generator=gen)
    pad = torch.zeros(batch, 17, dtype=torch.bool)
    pad[:, 6:] = True
    sentence = torch.randn(batch, 32, generator=gen)
    levels = [torch.randn(batch, 32, generator=gen) for _ in range(7)]
    return VLFeatures(visual=visual, words=words, word_pad_mask=pad,
                      sentence=sentence, visual_cls=cls,
                      extras=dict(sentence_levels=levels))


@pytest.mark.parametrize('cfg', [
    dict(),
    dict(selection='gumbel'),
    dict(selection='argmax'),
    dict(selection='fixed', fixed_layers=(2, 5)),
    dict(use_sfa=False),
    dict(selection='fixed', fixed_layers=(2, 5), use_sfa=False),
    dict(selection='none', use_sfa=False),
    dict(selector_type='mlp'),
    dict(selector_type='conv'),
])
def test_shapes(cfg):
    neck = MODELS.build(U.small_neck(**cfg))
    feats = _feats()
    out = neck(feats)
    assert len(out.visual) == 1 and out.visual[0].shape == (2, 32, 4, 4)
    assert out.visual_cls is None
    assert out.words is feats.words and out.sentence is feats.sentence
    assert out.word_pad_mask is feats.word_pad_mask
    adaptive = cfg.get('selection', 'straight_through') not in ('fixed',
                                                                'none')
    assert ('asda_selection' in out.extras) == adaptive
    if adaptive:
        index = out.extras['asda_selection']['index']
        assert index.shape == (2, 2)
        assert set(index[:, 0].tolist()) <= {0, 1, 2}
        assert set(index[:, 1].tolist()) <= {3, 4, 5}


def _nearest_x2(x):
    return x.repeat_interleave(2, dim=-2).repeat_interleave(2, dim=-1)


def test_sfa_follows_the_public_top_down_path():
    """Stages at x1 / x2 / x4 of the token grid, 1x1 laterals, nearest x2
    top-down sums, one 3x3 output conv at the finest level and a x4
    max-pool (public ``model/modules.py`` 58-88)."""
    torch.manual_seed(0)
    neck = MODELS.build(U.small_neck()).eval()
    sfa = neck.sfa
    top, mid, low = (torch.randn(2, 64, 4, 4) for _ in range(3))
    with torch.no_grad():
        f0, f1, f2 = sfa.levels[0](top), sfa.levels[1](mid), sfa.levels[2](
            low)
        assert [f.shape[-1] for f in (f0, f1, f2)] == [4, 8, 16]
        assert [len(level.up) for level in sfa.levels] == [0, 1, 4]
        assert sfa.levels[2].up[0].out_channels == 32
        assert sfa.levels[2].up[3].out_channels == 16
        p = sfa.lateral_convs[0](f0)
        p = sfa.lateral_convs[1](f1) + _nearest_x2(p)
        p = sfa.lateral_convs[2](f2) + _nearest_x2(p)
        ref = torch.nn.functional.max_pool2d(sfa.output_conv(p), 4)
        torch.testing.assert_close(sfa(low, mid, top), ref)


def test_selection_reads_per_layer_text_features():
    """selection_text='layer' (public code) scores candidate l with the text
    EOT of layer l; 'sentence' (paper's reading) with the final f_E."""
    torch.manual_seed(0)
    layer = MODELS.build(U.small_neck(selection='argmax')).eval()
    sent = MODELS.build(
        U.small_neck(selection='argmax', selection_text='sentence')).eval()
    sent.load_state_dict(layer.state_dict())
    feats = _feats(batch=16)
    afs = layer.afs
    with torch.no_grad():
        idx = layer(feats).extras['asda_selection']['index']
        # hand-computed public formula: softmax(Phi_as(Phi_T(cls) * eot))
        for g, (group, lut) in enumerate([((0, 1, 2), (0, 1, 2)),
                                          ((3, 4, 5), (3, 4, 5))]):
            logits = torch.stack([
                afs.selectors[g](
                    afs.cls_proj(feats.visual_cls[i]) *
                    feats.extras['sentence_levels'][i]).squeeze(-1)
                for i in group
            ], 1)
            ref = torch.tensor(lut)[logits.softmax(-1).argmax(-1)]
            assert torch.equal(idx[:, g], ref)
        # the final sentence does not change the 'layer' choice ...
        other = feats.replace(sentence=torch.randn_like(feats.sentence))
        assert torch.equal(
            layer(other).extras['asda_selection']['index'], idx)
        # ... but does change the 'sentence' choice
        a = sent(feats).extras['asda_selection']['index']
        b = sent(other).extras['asda_selection']['index']
        assert not torch.equal(a, b)
    with pytest.raises(ValueError, match='sentence_levels'):
        layer(feats.replace(extras={}))
    with pytest.raises(ValueError, match='selection_text'):
        MODELS.build(U.small_neck(selection_text='eot'))


@pytest.mark.parametrize('selection', ['straight_through', 'argmax'])
def test_selection_changes_with_sentence(selection):
    """One image, many sentences: the chosen layers differ between
    sentences, and the output is the map of the chosen layer."""
    torch.manual_seed(0)
    neck = MODELS.build(U.small_neck(selection=selection)).eval()
    feats = _feats(batch=32, same_image=True)
    with torch.no_grad():
        out = neck(feats)
    index = out.extras['asda_selection']['index']
    assert len(set(index[:, 0].tolist())) > 1
    assert len(set(index[:, 1].tolist())) > 1
    # the forward value equals a fixed-layer neck on the chosen layers
    fixed = MODELS.build(
        U.small_neck(selection='fixed', fixed_layers=(0, 3))).eval()
    fixed.load_state_dict(neck.state_dict(), strict=False)
    for b in range(4):
        low, mid = index[b].tolist()
        fixed.fixed_layers = (low, mid)
        one = _feats(batch=32, same_image=True)
        with torch.no_grad():
            ref = fixed(one).visual[0][b]
        torch.testing.assert_close(out.visual[0][b], ref)


@pytest.mark.parametrize('mode', ['eval', 'train'])
def test_straight_through_forward_equals_argmax(mode):
    """The learnable selector picks exactly what the public argmax picks
    and its forward value is bit-identical (with gradients enabled too)."""
    torch.manual_seed(0)
    st = MODELS.build(U.small_neck())
    am = MODELS.build(U.small_neck(selection='argmax'))
    am.load_state_dict(st.state_dict())
    st.train(mode == 'train')
    am.train(mode == 'train')
    for seed in range(3):
        feats = _feats(batch=16, seed=seed)
        a, b = st(feats), am(feats)
        assert torch.equal(a.extras['asda_selection']['index'],
                           b.extras['asda_selection']['index'])
        assert torch.equal(a.visual[0], b.visual[0])


@pytest.mark.parametrize('selection,learns', [('straight_through', True),
                                              ('gumbel', True),
                                              ('argmax', False)])
def test_selector_gradient(selection, learns):
    torch.manual_seed(0)
    neck = MODELS.build(U.small_neck(selection=selection)).train()
    feats = _feats(batch=4, requires_grad=True)
    out = neck(feats).visual[0]
    (out * torch.randn_like(out)).sum().backward()
    # a selector bias shifts every candidate's logit alike, so the softmax
    # (and its gradient) never depends on it: only the weights are checked
    params = [p for n, p in neck.afs.named_parameters()
              if not n.endswith('bias')]
    grads = [p.grad for p in params]
    if learns:
        assert all(g is not None and g.abs().sum() > 0 for g in grads)
    else:
        assert all(g is None or g.abs().sum() == 0 for g in grads)
    # the backbone features of the chosen layers get gradient in every mode
    assert feats.visual[6].grad is not None  # F_H
    chosen = neck(feats).extras['asda_selection']['index'][0, 0].item()
    assert feats.visual[chosen].grad is not None


def test_gumbel_is_deterministic_in_eval():
    torch.manual_seed(0)
    neck = MODELS.build(U.small_neck(selection='gumbel')).eval()
    feats = _feats(batch=8)
    with torch.no_grad():
        a = neck(feats).extras['asda_selection']['index']
        b = neck(feats).extras['asda_selection']['index']
    assert torch.equal(a, b)


def test_invalid_configs():
    with pytest.raises(ValueError):
        MODELS.build(U.small_neck(selection='fixed'))
    with pytest.raises(ValueError):
        MODELS.build(U.small_neck(fixed_layers=(2, 5)))
    with pytest.raises(ValueError):
        MODELS.build(U.small_neck(selection='none'))
    with pytest.raises(ValueError):
        MODELS.build(U.small_neck(selection='softmax'))
    with pytest.raises(ValueError):
        MODELS.build(U.small_neck(selector_type='gru'))
    neck = MODELS.build(U.small_neck())
    with pytest.raises(ValueError, match='visual_cls'):
        neck(_feats().replace(visual_cls=None))


def test_public_code_modules_are_separate():
    """vis_select (shared Phi_T) and one Phi_as per group, as the public
    code's vis_select / feature_selector_{l,m}."""
    neck = MODELS.build(U.small_neck())
    assert neck.afs.cls_proj.bias is None
    assert neck.afs.cls_proj.weight.shape == (32, 64)
    assert len(neck.afs.selectors) == 2
    assert neck.afs.selectors[0].weight.shape == (1, 32)
