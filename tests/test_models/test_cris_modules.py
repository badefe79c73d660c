"""Behaviour of the CRIS components at reduced size (CRIS Sec. 3.1-3.3)."""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from cris_test_utils import TINY_CLIP, tiny_cris_cfg
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

import mmris  # noqa: F401
from mmris.models import (CLIPResNet, CRISHead, CRISNeck,
                          DenseAttentionPool2d)
from mmris.models.layers import (sine_positional_encoding_1d,
                                 sine_positional_encoding_2d)
from mmris.models.utils import coord_feats
from mmris.registry import MODELS
from mmris.structures import VLFeatures


def _feats(b=2, c=32, h=4, w=5, L=6, cw=32, cs=64, n_pad=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    pad = torch.zeros(b, L, dtype=torch.bool)
    pad[:, L - n_pad:] = True
    return VLFeatures(
        visual=[torch.randn(b, c, h, w, generator=g)],
        words=torch.randn(b, L, cw, generator=g),
        word_pad_mask=pad,
        sentence=torch.randn(b, cs, generator=g))


def _samples(b, size, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(b):
        s = SegDataSample()
        s.gt_sem_seg = PixelData(
            data=(torch.rand(1, *size, generator=g) > 0.5).long())
        s.set_metainfo(dict(text='the red ball on the left',
                            img_shape=size, batch_input_shape=size))
        out.append(s)
    return out


# ---------------------------------------------------------------- utils
def test_coord_feats_hand_checked():
    coords = coord_feats(torch.zeros(2, 7, 2, 3))
    assert coords.shape == (2, 2, 2, 3)
    x = torch.tensor([[-1., 0., 1.], [-1., 0., 1.]])
    y = torch.tensor([[-1., -1., -1.], [1., 1., 1.]])
    for b in range(2):
        assert torch.equal(coords[b, 0], x)
        assert torch.equal(coords[b, 1], y)


def test_sine_1d_hand_checked():
    pe = sine_positional_encoding_1d(3, 4)
    # d=4: frequencies 1 and 10000^(-2/4) = 0.01
    want = torch.tensor([
        [0., 1., 0., 1.],
        [math.sin(1), math.cos(1), math.sin(.01), math.cos(.01)],
        [math.sin(2), math.cos(2), math.sin(.02), math.cos(.02)],
    ])
    assert torch.allclose(pe, want, atol=1e-6)


def test_sine_2d_hand_checked():
    # C=8: channels 0-3 encode x (column), 4-7 encode y (row); per half
    # d=4, frequencies 1 and 0.01.
    pe = sine_positional_encoding_2d(8, 2, 3)
    assert pe.shape == (8, 2, 3)
    for r in range(2):
        for c in range(3):
            want = [math.sin(c), math.cos(c), math.sin(.01 * c),
                    math.cos(.01 * c), math.sin(r), math.cos(r),
                    math.sin(.01 * r), math.cos(.01 * r)]
            assert torch.allclose(pe[:, r, c], torch.tensor(want),
                                  atol=1e-6)
    with pytest.raises(ValueError):
        sine_positional_encoding_2d(6, 2, 2)


# ------------------------------------------------------ dense attn pool
def _open_clip_pool(spacial=3, dim=32, heads=4, out=16):
    from open_clip.modified_resnet import AttentionPool2d
    torch.manual_seed(0)
    return AttentionPool2d(spacial, dim, heads, out)


def test_dense_attention_pool_loads_clip_weights():
    pool = _open_clip_pool()
    dense = DenseAttentionPool2d(3, 32, 4, 16)
    missing, unexpected = dense.load_state_dict(pool.state_dict(),
                                                strict=False)
    assert not unexpected
    assert set(missing) == {
        k for k in dense.state_dict()
        if k.startswith('connect.') and 'num_batches' not in k}
    shared = DenseAttentionPool2d.from_attention_pool(pool)
    assert shared.q_proj is pool.q_proj
    assert shared.positional_embedding is pool.positional_embedding


def test_dense_attention_pool_pos_embed_resize():
    dense = DenseAttentionPool2d.from_attention_pool(_open_clip_pool())
    pos = dense.positional_embedding.detach()
    # same size: the grid rows (CLS row dropped), row-major
    assert torch.allclose(dense.resized_pos_embed((3, 3)), pos[1:].t(),
                          atol=1e-5)
    grid = pos[1:].t().reshape(1, 32, 3, 3)
    want = F.interpolate(grid, size=(5, 4), mode='bicubic',
                         align_corners=False).reshape(32, 20)
    assert torch.allclose(dense.resized_pos_embed((5, 4)), want)


def test_dense_attention_pool_every_position_a_query():
    pool = _open_clip_pool()
    dense = DenseAttentionPool2d.from_attention_pool(
        pool, with_connect=False).eval()
    x = torch.randn(2, 32, 5, 4)
    out = dense(x)
    assert out.shape == (2, 16, 5, 4)
    # reference: plain multi-head self-attention over the H*W tokens (+pos),
    # no CLS/mean token, with CLIP's projections
    mha = nn.MultiheadAttention(32, 4, batch_first=True)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat(
            [pool.q_proj.weight, pool.k_proj.weight, pool.v_proj.weight]))
        mha.in_proj_bias.copy_(torch.cat(
            [pool.q_proj.bias, pool.k_proj.bias, pool.v_proj.bias]))
        mha.out_proj.weight.copy_(torch.eye(32))
        mha.out_proj.bias.zero_()

    def attend(tok):  # c_proj maps 32 -> 16 after the heads are merged
        return pool.c_proj(mha(tok, tok, tok)[0])
    tokens = x.flatten(2).transpose(1, 2) + dense.resized_pos_embed(
        (5, 4)).t()
    want = attend(tokens).transpose(1, 2).reshape(
        2, 16, 5, 4)
    assert torch.allclose(out, want, atol=1e-5)
    # the mean-token query of CLIP's pool is the same attention with the
    # mean token prepended: its extra query row is CLIP's pooled output
    x7 = torch.randn(2, 32, 3, 3)
    tok = x7.flatten(2).transpose(1, 2)
    tok = torch.cat([tok.mean(1, keepdim=True), tok], 1)
    tok = tok + pool.positional_embedding
    assert torch.allclose(attend(tok)[:, 0], pool(x7), atol=1e-5)
    # with the connect branch: relu(attn + connect)
    dense_c = DenseAttentionPool2d.from_attention_pool(pool).eval()
    want_c = F.relu(want + dense_c.connect(x))
    assert torch.allclose(dense_c(x), want_c, atol=1e-5)


# ------------------------------------------------------------- backbone
def test_clip_resnet_shapes_and_pad_mask():
    bb = CLIPResNet(model_cfg=TINY_CLIP, context_length=8).eval()
    assert bb.out_channels == [64, 128, 64]
    assert bb.word_dims == 32 and bb.sentence_dims == 64
    assert bb.text.positional_embedding.shape == (8, 32)
    from open_clip.transformer import QuickGELU
    assert isinstance(bb.text.transformer.resblocks[0].mlp.gelu, QuickGELU)
    with torch.no_grad():
        f = bb(torch.randn(2, 3, 96, 64), ['a dog', 'the man on the left'])
    assert [tuple(v.shape) for v in f.visual] == [(2, 64, 12, 8),
                                                 (2, 128, 6, 4),
                                                 (2, 64, 3, 2)]
    assert f.words.shape == (2, 8, 32) and f.sentence.shape == (2, 64)
    assert f.word_pad_mask.tolist()[0] == [False] * 4 + [True] * 4


def test_clip_resnet_frozen():
    bb = CLIPResNet(model_cfg=TINY_CLIP, context_length=8, frozen=True)
    trainable = [n for n, p in bb.named_parameters() if p.requires_grad]
    assert trainable and all('.connect.' in n for n in trainable)
    bb.train()
    assert not bb.visual.bn1.training
    assert bb.visual.attnpool.connect[1].training


# ----------------------------------------------------------------- neck
def test_cris_neck_shapes():
    neck = CRISNeck(in_channels=(24, 40, 48), out_channels=32,
                    sentence_dims=20)
    feats = VLFeatures(
        visual=[torch.randn(2, 24, 16, 12), torch.randn(2, 40, 8, 6),
                torch.randn(2, 48, 4, 3)],
        words=torch.randn(2, 5, 8),
        word_pad_mask=torch.zeros(2, 5, dtype=torch.bool),
        sentence=torch.randn(2, 20))
    out = neck(feats)
    assert len(out.visual) == 1 and out.visual[0].shape == (2, 32, 8, 6)
    assert out.words is feats.words and out.sentence is feats.sentence
    # default widths follow the public code: (256, 512, 1024) for C=512
    assert CRISNeck(in_channels=(512, 1024, 1024),
                    sentence_dims=1024).sentence_proj[0].weight.shape == (
                        1024, 1024)


def test_cris_neck_uses_sentence():
    neck = CRISNeck(in_channels=(8, 16, 16), out_channels=16,
                    sentence_dims=12).eval()
    f = VLFeatures(
        visual=[torch.randn(1, 8, 8, 8), torch.randn(1, 16, 4, 4),
                torch.randn(1, 16, 2, 2)],
        words=torch.randn(1, 3, 4), word_pad_mask=torch.zeros(
            1, 3, dtype=torch.bool), sentence=torch.randn(1, 12))
    a = neck(f).visual[0]
    assert a.abs().sum() > 0
    b = neck(f.replace(sentence=torch.randn(1, 12))).visual[0]
    assert not torch.allclose(a, b)


# ----------------------------------------------------------------- head
@pytest.mark.parametrize('num_layers', [0, 1, 2])
@pytest.mark.parametrize('kernel_size', [1, 3])
def test_cris_head_shapes(num_layers, kernel_size):
    head = CRISHead(in_channels=32, word_dims=32, sentence_dims=64,
                    num_layers=num_layers, num_heads=4, ffn_dims=64,
                    proj_channels=16, kernel_size=kernel_size)
    assert (head.decoder is None) == (num_layers == 0)
    logits = head(_feats())
    assert logits.shape == (2, 1, 16, 20)  # stride 16 -> stride 4


def test_cris_head_word_dims_differ():
    head = CRISHead(in_channels=32, word_dims=24, sentence_dims=64,
                    num_layers=1, num_heads=4, ffn_dims=64, proj_channels=16)
    assert head(_feats(cw=24)).shape == (2, 1, 16, 20)


def test_cris_head_kernel_1_is_dot_product():
    head = CRISHead(in_channels=32, word_dims=32, sentence_dims=64,
                    num_layers=1, num_heads=4, ffn_dims=64, proj_channels=16,
                    kernel_size=1).eval()
    feats = _feats()
    with torch.no_grad():
        z_v = head.vis_proj(head.decode(feats))
        z_t = head.txt_proj(feats.sentence)
        want = torch.einsum('bd,bdhw->bhw', z_t[:, :-1], z_v)[:, None]
        want = want + z_t[:, -1, None, None, None]
        assert torch.allclose(head(feats), want, atol=1e-5)


def test_cris_head_pad_mask_honoured():
    head = CRISHead(in_channels=32, word_dims=32, sentence_dims=64,
                    num_layers=2, num_heads=4, ffn_dims=64,
                    proj_channels=16).eval()
    feats = _feats(n_pad=2)
    with torch.no_grad():
        ref = head(feats)
        words = feats.words.clone()
        words[:, -2:] = torch.randn_like(words[:, -2:]) * 10
        assert torch.allclose(head(feats.replace(words=words)), ref,
                              atol=1e-5)
        words = feats.words.clone()
        words[:, 1] = torch.randn_like(words[:, 1]) * 10
        assert not torch.allclose(head(feats.replace(words=words)), ref,
                                  atol=1e-3)


def test_cris_head_sentence_used_and_baseline():
    head = CRISHead(in_channels=32, word_dims=32, sentence_dims=64,
                    num_layers=0, proj_channels=16, projector=False).eval()
    assert not hasattr(head, 'txt_proj')
    assert head.conv_seg.weight.shape == (1, 16, 3, 3)
    f = _feats()
    with torch.no_grad():
        # no decoder, no text projector: the text is not used at all
        assert torch.equal(head(f), head(f.replace(
            sentence=torch.randn(2, 64), words=torch.randn(2, 6, 32))))


def test_cris_head_loss_is_eq_9_10():
    head = CRISHead(in_channels=32, word_dims=32, sentence_dims=64,
                    num_layers=1, num_heads=4, ffn_dims=64,
                    proj_channels=16)
    feats = _feats()
    samples = _samples(2, (64, 80))
    torch.manual_seed(0)
    losses = head.loss(feats, samples)
    torch.manual_seed(0)
    logits = head(feats)
    target = torch.stack([s.gt_sem_seg.data for s in samples]).float()
    target = F.interpolate(target, size=logits.shape[-2:], mode='nearest')
    p = logits.sigmoid()
    eq9 = torch.where(target > 0, -torch.log(p), -torch.log(1 - p))
    assert torch.allclose(losses['loss_bce'], eq9.mean(), atol=1e-5)
    pred = head.predict(feats, [s.metainfo for s in samples])
    assert pred.shape == (2, 1, 64, 80)


# --------------------------------------------------------- full segmentor
def test_tiny_cris_gradients_reach_backbone_and_head():
    model = MODELS.build(tiny_cris_cfg())
    model.train()
    images = torch.randn(2, 3, 64, 64)
    losses = model.loss(images, _samples(2, (64, 64)))
    losses['loss_bce'].backward()
    named = dict(model.named_parameters())
    for name in ('backbone.visual.conv1.weight',
                 # open_clip zero-initialises every bn3.weight (residual
                 # branches start at zero), so the branch convs get no
                 # gradient at a random init; bn3 and the shortcut do
                 'backbone.visual.layer2.0.bn3.weight',
                 'backbone.visual.layer4.0.downsample.1.weight',
                 'backbone.visual.attnpool.q_proj.weight',
                 'backbone.visual.attnpool.connect.0.weight',
                 'backbone.text.transformer.resblocks.0.attn.in_proj_weight',
                 'backbone.text.positional_embedding',
                 'backbone.text.text_projection',
                 'neck.sentence_proj.0.weight', 'neck.coord_conv.conv.weight',
                 'decode_head.decoder.layers.0.cross_attn.in_proj_weight',
                 'decode_head.vis_proj.4.weight',
                 'decode_head.txt_proj.weight'):
        grad = named[name].grad
        assert grad is not None and grad.abs().sum() > 0, name


def test_cris_neck_trains_on_a_batch_of_one():
    """The sentence BatchNorm1d falls back to its running statistics for a
    single-sample training batch (last batch of an epoch, small per-GPU
    batches) instead of raising."""
    neck = CRISNeck(in_channels=(8, 16, 16), out_channels=16,
                    sentence_dims=12).train()
    f = VLFeatures(
        visual=[torch.randn(1, 8, 8, 8), torch.randn(1, 16, 4, 4),
                torch.randn(1, 16, 2, 2)],
        words=torch.randn(1, 3, 4), word_pad_mask=torch.zeros(
            1, 3, dtype=torch.bool), sentence=torch.randn(1, 12))
    bn = neck.sentence_proj[1]
    before = bn.running_mean.clone()
    out = neck(f).visual[0]
    assert out.shape == (1, 16, 4, 4)
    torch.testing.assert_close(bn.running_mean, before)  # not updated
    out.sum().backward()
    assert neck.sentence_proj[0].weight.grad is not None
    assert neck.eval()(f).visual[0].shape == (1, 16, 4, 4)
