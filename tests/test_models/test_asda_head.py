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
    assert len(head.cfs.encoder.layers) == num_layers
    assert head.cfs.out_conv.out_channels == num_prototypes
    assert head.wcg.fc.out_features == num_prototypes
    out = head.forward_branches(_feats())
    assert out['prototypes'].shape[1] == num_prototypes
    assert out['logits'].shape == (2, 1, 32, 32)


def test_wcg_sees_only_real_words():
    """Changing the features at padded positions leaves the output
    unchanged with mask_padding=True, and changes it with False (the public
    code's behaviour)."""
    torch.manual_seed(0)
    masked = MODELS.build(U.small_head(mask_padding=True)).eval()
    unmasked = MODELS.build(U.small_head()).eval()
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
    assert head.cfs.out_conv.out_channels == 1
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
             decoder_channels=8))
    names = [type(l).__name__ for l in head.loss_decode]
    assert names == ['MaskFocalLoss', 'MaskDiceLoss']
    # the public code's "focal" loss: alpha -1, gamma 0 (= BCE)
    assert head.loss_decode[0].alpha == -1 and head.loss_decode[0].gamma == 0
    losses = head.loss(_feats(), U.samples(['a', 'b'], 64))
    assert set(losses) >= {'loss_focal', 'loss_dice', 'acc_iou'}
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    for name, p in head.named_parameters():
        assert p.grad is not None, name


def _detr_positions(h, w, dims):
    """DETR's PositionEmbeddingSine(normalize=False), written out: y then x
    channels, positions counted from 1, sin / cos interleaved."""
    half = dims // 2
    i = torch.arange(half, dtype=torch.float32)
    dim_t = 10000**(2 * torch.div(i, 2, rounding_mode='floor') / half)
    y = torch.arange(1, h + 1, dtype=torch.float32)[:, None].expand(h, w)
    x = torch.arange(1, w + 1, dtype=torch.float32)[None].expand(h, w)

    def enc(v):
        v = v[..., None] / dim_t
        return torch.stack((v[..., 0::2].sin(), v[..., 1::2].cos()),
                           -1).flatten(2)

    return torch.cat([enc(y), enc(x)], -1).reshape(h * w, dims)


def test_forward_is_the_public_computation():
    """The head's eval output equals the public code's forward
    (model.py 419-465, transformer.py 17-54 and 147-156, modules.py 113-144)
    written out with functional ops on the head's own parameters."""
    import torch.nn.functional as F
    torch.manual_seed(0)
    head = MODELS.build(U.small_head()).eval()
    for m in head.modules():  # non-trivial BN statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    feats = _feats()
    f_tf, words = feats.visual[0], feats.words
    b, c, h, w = f_tf.shape

    def mha(attn, q, k, v):
        return attn(q, k, v, need_weights=False)[0]

    def cbr(m, x):  # ConvBatchNormReLU(leaky)
        return F.leaky_relu(m.bn(m.conv(x)), 0.1)

    with torch.no_grad():
        pos = _detr_positions(h, w, c)
        x = F.relu(f_tf.reshape(b, c, h * w)).permute(0, 2, 1)
        for layer in head.cfs.encoder.layers:  # post-norm
            q = x + pos
            x = layer.norm1(x + mha(layer.self_attn, q, q, x))
            ff = layer.ffn[3](F.relu(layer.ffn[0](x)))
            x = layer.norm3(x + ff)
        vis = head.cfs.encoder.norm(x)
        m = vis.permute(0, 2, 1).reshape(b, c, h, w)
        m = cbr(head.cfs.convs[1], cbr(head.cfs.convs[0], m))
        for conv in head.cfs.up_convs:
            m = cbr(conv, F.interpolate(m, scale_factor=2, mode='nearest'))
        protos = F.relu(head.cfs.out_conv(m))
        wcg = head.wcg
        lang = F.relu(F.linear(words, wcg.word_proj.weight))  # no bias
        ca = wcg.cross_attn
        proj = ca.cross_input_proj
        out = mha(ca.cross_attn, F.relu(proj.query(vis)),
                  F.relu(proj.key(lang)), F.relu(proj.value(lang)))
        y = ca.norm2(out + vis)
        y = ca.norm3(y + ca.ffn[3](F.relu(ca.ffn[0](y))))
        coef = y.reshape(b, h, w, c).permute(0, 3, 1, 2)
        coef = wcg.conv3(cbr(wcg.conv2, cbr(wcg.conv1, coef)))
        coef = coef.permute(0, 2, 3, 1).reshape(b, -1)  # H, W, C order
        coef = torch.tanh(F.linear(coef, wcg.fc.weight)).unsqueeze(-1)
        n = protos.shape[1]
        ref = torch.bmm(protos.permute(0, 2, 3, 1).reshape(b, -1, n), coef)
        ref = ref.reshape(b, 1, *protos.shape[-2:])
        torch.testing.assert_close(head(feats), ref)
    assert wcg.fc.bias is None and wcg.word_proj.bias is None
    assert wcg.conv3.kernel_size == (3, 3)
    assert head.cfs.out_conv.kernel_size == (3, 3)


def test_detr_positions():
    from mmris.models.heads.asda_layers import detr_sine_position_2d
    torch.testing.assert_close(
        detr_sine_position_2d(3, 5, 16), _detr_positions(3, 5, 16))
