"""WGDAHead: Eq. 10 output shapes, padding masked in WCG, N_c / n
configurable, single-branch ablations, loss."""
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


def _feats(batch=2, seed=0, num_real=5):
    gen = torch.Generator().manual_seed(seed)
    words = torch.randn(batch, 17, 32, generator=gen)
    pad = torch.zeros(batch, 17, dtype=torch.bool)
    pad[:, num_real:] = True
    return VLFeatures(
        visual=[torch.randn(batch, 32, 4, 4, generator=gen)],
        words=words,
        word_pad_mask=pad,
        sentence=torch.randn(batch, 32, generator=gen))


def test_dual_branch_shapes_and_eq10():
    head = MODELS.build(U.small_head()).eval()
    with torch.no_grad():
        out = head.forward_branches(_feats())
    assert out['logits'].shape == (2, 1, 32, 32)  # stride 2 of 64
    assert out['prototypes'].shape == (2, 4, 32, 32)
    assert (out['prototypes'] >= 0).all()  # ReLU prototypes
    assert out['coefficients'].shape == (2, 4)
    assert out['coefficients'].abs().max() < 1  # tanh
    ref = (out['prototypes'] * out['coefficients'][..., None, None]).sum(
        1, keepdim=True)
    torch.testing.assert_close(out['logits'], ref)


@pytest.mark.parametrize('num_prototypes,num_layers', [(16, 1), (48, 3),
                                                       (8, 4), (4, 0)])
def test_nc_and_n_configurable(num_prototypes, num_layers):
    head = MODELS.build(
        U.small_head(num_prototypes=num_prototypes, num_layers=num_layers))
    assert len(head.cfs.encoder) == num_layers
    assert head.cfs.mask_decoder[-1].out_channels == num_prototypes
    assert head.wcg.fc.out_features == num_prototypes
    out = head.forward_branches(_feats())
    assert out['prototypes'].shape[1] == num_prototypes
    assert out['logits'].shape == (2, 1, 32, 32)


def test_wcg_sees_only_real_words():
    """Changing the features at padded positions leaves the output
    unchanged with mask_padding=True, and changes it with False (the public
    code's behaviour)."""
    torch.manual_seed(0)
    masked = MODELS.build(U.small_head()).eval()
    unmasked = MODELS.build(U.small_head(mask_padding=False)).eval()
    unmasked.load_state_dict(masked.state_dict())
    feats = _feats()
    noisy = feats.words.clone()
    noisy[feats.word_pad_mask] = torch.randn_like(
        noisy[feats.word_pad_mask]) * 10
    feats2 = feats.replace(words=noisy)
    with torch.no_grad():
        torch.testing.assert_close(masked(feats), masked(feats2))
        assert not torch.allclose(unmasked(feats), unmasked(feats2))
        # and real words do matter
        real = feats.words.clone()
        real[:, 1] += 5
        assert not torch.allclose(masked(feats), masked(
            feats.replace(words=real)))


@pytest.mark.parametrize('cfg', [
    dict(dual_branch=False),
    dict(dual_branch=False, use_words=False),
])
def test_single_branch_ablations(cfg):
    head = MODELS.build(U.small_head(**cfg))
    out = head.forward_branches(_feats())
    assert set(out) == {'logits'}
    assert out['logits'].shape == (2, 1, 32, 32)
    assert head.cfs.mask_decoder[-1].out_channels == 1
    if cfg.get('use_words', True):
        assert not hasattr(head.wcg, 'fc')  # no coefficient generator
    else:
        assert not hasattr(head, 'wcg')
    with pytest.raises(ValueError):
        MODELS.build(U.small_head(use_words=False))


def test_coef_pool_avg_any_size_and_size_check():
    head = MODELS.build(U.small_head(coef_pool='avg'))
    feats = _feats()
    big = feats.replace(visual=[torch.randn(2, 32, 6, 6)])
    assert head(big).shape == (2, 1, 48, 48)
    fixed = MODELS.build(U.small_head())
    with pytest.raises(ValueError, match='feat_size'):
        fixed(big)


def test_default_loss_and_gradients():
    head = MODELS.build(
        dict(type='WGDAHead', in_channels=32, word_dims=32,
             num_prototypes=4, num_heads=2, ffn_dims=32, feat_size=4,
             decoder_channels=(8, 8, 8)))
    names = [type(l).__name__ for l in head.loss_decode]
    assert names == ['MaskFocalLoss', 'MaskDiceLoss']
    losses = head.loss(_feats(), U.samples(['a', 'b'], 64))
    assert set(losses) >= {'loss_focal', 'loss_dice', 'acc_iou'}
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    for name, p in head.named_parameters():
        assert p.grad is not None, name
