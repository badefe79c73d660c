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
    return VLFeatures(visual=visual, words=words, word_pad_mask=pad,
                      sentence=sentence, visual_cls=cls)


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


def test_sfa_pyramid_scales():
    """F~_L at x4 and F~_M at x2 of the token grid (26 -> 104 / 52)."""
    neck = MODELS.build(U.small_neck())
    x = torch.randn(2, 64, 4, 4)
    assert neck.sfa.up_low(x).shape[-2:] == (16, 16)
    assert neck.sfa.up_mid(x).shape[-2:] == (8, 8)
    assert neck.sfa.lateral_top[0].out_channels == 8  # reduce_channels


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


def test_straight_through_forward_equals_argmax():
    torch.manual_seed(0)
    st = MODELS.build(U.small_neck()).eval()
    am = MODELS.build(U.small_neck(selection='argmax')).eval()
    am.load_state_dict(st.state_dict())
    feats = _feats(batch=8)
    with torch.no_grad():
        a, b = st(feats), am(feats)
    assert torch.equal(a.extras['asda_selection']['index'],
                       b.extras['asda_selection']['index'])
    torch.testing.assert_close(a.visual[0], b.visual[0], rtol=0, atol=0)


@pytest.mark.parametrize('selection,learns', [('straight_through', True),
                                              ('gumbel', True),
                                              ('argmax', False)])
def test_selector_gradient(selection, learns):
    torch.manual_seed(0)
    neck = MODELS.build(U.small_neck(selection=selection)).train()
    feats = _feats(batch=4, requires_grad=True)
    out = neck(feats).visual[0]
    (out * torch.randn_like(out)).sum().backward()
    params = list(neck.afs.parameters())
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
