"""Every attention layer of mmris runs ``F.scaled_dot_product_attention``
(issue 12, GPU speed): the TransformerLayer family (CRIS decoder, ASDA's CFS
and WCG), Shared-RIS's JointAttention, RISCLIP's CrossModalFusion, SKE
layer and adapted CLIP blocks, BEiT-3's attention and CRIS's dense
attention pool.

For each layer:

* no ``nn.MultiheadAttention`` is asked for weights (``need_weights=True``
  is torch's explicit softmax(QK^T)V path) and SDPA is called;
* the output equals the output with SDPA replaced by an explicit
  softmax(QK^T / sqrt(d) + mask) V written here (within 1e-5), and, for
  ``nn.MultiheadAttention``, its explicit path equals its SDPA path;
* padding is honoured: changing the padded tokens' content changes no
  output at a real position, and padded keys get exactly zero gradient;
* gradients reach the inputs and every attention projection;
* dropout is passed to SDPA in training only.
"""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import mmris  # noqa: F401
from mmris.models.backbones.beit3 import BEiT3Attention
from mmris.models.backbones.dense_attention_pool import DenseAttentionPool2d
from mmris.models.layers import TransformerLayer
from mmris.models.layers.adapted_clip_block import AdaptedCLIPBlock
from mmris.models.layers.cross_modal_fusion import CrossModalFusion
from mmris.models.layers.joint_attention import JointAttention
from mmris.models.layers.ske_layer import SKELayer

B, N, L, C = 2, 6, 5, 16
# sample 0: no padding; sample 1: its last two words are padding
PAD = torch.tensor([[False] * L, [False] * (L - 2) + [True] * 2])


def explicit_sdpa(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False,
                  scale=None, **kwargs):
    """softmax(q k^T * scale + mask) v, the textbook attention."""
    assert not is_causal and not kwargs
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    logits = q @ k.transpose(-2, -1) * scale
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:  # True = may attend
            logits = logits.masked_fill(~attn_mask, float('-inf'))
        else:
            logits = logits + attn_mask
    weights = logits.softmax(dim=-1)
    if dropout_p:
        weights = F.dropout(weights, dropout_p)
    return weights @ v


class Spy:
    """Records SDPA calls (and their dropout_p) and MHA's need_weights."""

    def __init__(self, monkeypatch, explicit: bool = False):
        self.dropout = []
        self.need_weights = []
        real_sdpa = F.scaled_dot_product_attention
        real_mha = F.multi_head_attention_forward

        def sdpa(*args, **kwargs):
            # (q, k, v, attn_mask, dropout_p, ...), often positional
            self.dropout.append(args[4] if len(args) > 4 else kwargs.get(
                'dropout_p', 0.0))
            return (explicit_sdpa if explicit else real_sdpa)(*args, **kwargs)

        def mha(*args, **kwargs):
            self.need_weights.append(kwargs.get('need_weights', True))
            return real_mha(*args, **kwargs)

        monkeypatch.setattr(F, 'scaled_dot_product_attention', sdpa)
        monkeypatch.setattr(F, 'multi_head_attention_forward', mha)


def _randomize(module: nn.Module, seed: int = 0) -> None:
    """Random weights everywhere (undo zero-initialised value paths)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in sorted(module.named_parameters()):
            fan_in = p.shape[-1] if p.dim() else 1
            p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(fan_in) +
                    (p.dim() <= 1) * 0.5)


def _inputs(seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(B, N, C, generator=gen)
    words = torch.randn(B, L, C, generator=gen)
    return x, words


def _perturb_words(words):
    """New content at the padded word positions only."""
    words = words.clone()
    words[PAD] = torch.randn(int(PAD.sum()), words.shape[-1]) * 10
    return words


def _real(out_words):
    """The word outputs at real (unpadded) positions."""
    return out_words[~PAD]


# Each case: (build, run). ``run(module, x, words)`` returns the outputs
# that must not depend on padded words.
def _transformer_layer(**kwargs):
    def build():
        return TransformerLayer(embed_dims=C, num_heads=4, ffn_dims=32,
                                self_attn=True, cross_attn=True, dropout=0.1,
                                **kwargs)

    def run(m, x, words):
        return [m(x, memory=words, memory_pad_mask=PAD)]

    return build, run


def _joint(mode):
    def build():
        return JointAttention(C, 4, mode, dropout=0.1)

    def run(m, x, words):
        seq = torch.cat([x, words], dim=1)
        pad = torch.cat([PAD.new_zeros(B, N), PAD], dim=1)
        out = m(seq, N, pad)
        return [out[:, :N], _real(out[:, N:])]

    return build, run


def _fusion(mode):
    def build():
        return CrossModalFusion(C, 4, mode)

    def run(m, x, words):
        dv, dt = m(x, words, PAD)
        return [dv, _real(dt)]

    return build, run


def _ske():
    def build():
        return SKELayer(C, num_heads=4)

    def run(m, x, words):
        v, t = m(x, words, PAD)
        return [v, _real(t)]

    return build, run


def _beit3():
    def build():
        return BEiT3Attention(C, 4)

    def run(m, x, words):
        seq = torch.cat([x, words], dim=1)
        keep = torch.cat([PAD.new_ones(B, N), ~PAD], dim=1)
        out = m(seq, N, keep[:, None, None, :])
        return [out[:, :N], _real(out[:, N:])]

    return build, run


CASES = {
    'transformer_layer_pre': _transformer_layer(norm_order='pre',
                                                attn_out_norm=True),
    'transformer_layer_post_wcg': _transformer_layer(
        norm_order='post', cross_input_proj=dict(act_cfg=dict(type='ReLU'))),
    'transformer_layer_kv_dims': _transformer_layer(kv_dims=C),
    'joint_self': _joint('self'),
    'joint_cross': _joint('cross'),
    'joint_bidirectional': _joint('bidirectional'),
    'fusion_mhca': _fusion('mhca'),
    'fusion_mhsa_concat': _fusion('mhsa_concat'),
    'fusion_mhca_concat': _fusion('mhca_concat'),
    'ske_layer': _ske(),
    'beit3_attention': _beit3(),
}


@pytest.mark.parametrize('name', sorted(CASES))
def test_attention_uses_sdpa_and_matches_explicit(name, monkeypatch):
    build, run = CASES[name]
    torch.manual_seed(0)
    module = build()
    _randomize(module)
    module.eval()
    x, words = _inputs()
    # with autograd recording (training), so that nn.MultiheadAttention
    # takes F.multi_head_attention_forward, not its inference fast path
    # (torch's fused kernel, checked in the padding test below)
    spy = Spy(monkeypatch)
    fast = run(module, x, words)
    assert spy.dropout, 'no scaled_dot_product_attention call'
    assert not any(spy.need_weights), 'an MHA computed explicit weights'
    monkeypatch.undo()
    Spy(monkeypatch, explicit=True)
    ref = run(module, x, words)
    for a, b in zip(fast, ref):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('name', sorted(CASES))
def test_attention_honours_padding_and_passes_gradients(name):
    build, run = CASES[name]
    torch.manual_seed(0)
    module = build()
    _randomize(module)
    module.eval()
    x, words = _inputs()
    x.requires_grad_(True)
    words.requires_grad_(True)
    outs = run(module, x, words)
    with torch.no_grad():
        moved = run(module, x, _perturb_words(words))
    for a, b in zip(outs, moved):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    sum((o * torch.linspace(-1, 1, o.numel()).view_as(o)).sum()
        for o in outs).backward()
    assert x.grad.abs().sum() > 0
    assert words.grad[~PAD].abs().sum() > 0
    assert (words.grad[PAD] == 0).all(), 'padded words influenced outputs'
    for pname, p in module.named_parameters():
        if 'proj' in pname or 'attn' in pname:
            assert p.grad is not None and torch.isfinite(p.grad).all(), pname


@pytest.mark.parametrize('name', ['transformer_layer_pre', 'joint_self'])
def test_attention_dropout_only_in_training(name, monkeypatch):
    build, run = CASES[name]
    module = build()
    x, words = _inputs()
    spy = Spy(monkeypatch)
    module.train()
    run(module, x, words)
    assert spy.dropout and all(p == pytest.approx(0.1) for p in spy.dropout)
    spy.dropout.clear()
    module.eval()
    run(module, x, words)
    assert spy.dropout and all(p == 0 for p in spy.dropout)


def test_mha_explicit_path_equals_sdpa_path():
    """torch's need_weights=True path (explicit softmax) against the SDPA
    path every mmris layer takes, with a key padding mask."""
    torch.manual_seed(0)
    mha = nn.MultiheadAttention(C, 4, batch_first=True, kdim=8, vdim=8)
    x = torch.randn(B, N, C)
    mem = torch.randn(B, L, 8)
    explicit = mha(x, mem, mem, key_padding_mask=PAD, need_weights=True)[0]
    fast = mha(x, mem, mem, key_padding_mask=PAD, need_weights=False)[0]
    torch.testing.assert_close(fast, explicit, rtol=1e-5, atol=1e-5)


def _clip_block(dropout=0.0):
    from open_clip.transformer import ResidualAttentionBlock
    torch.manual_seed(0)
    block = ResidualAttentionBlock(C, 4, batch_first=True)
    block.attn.dropout = dropout
    return block


@pytest.mark.parametrize('temperature', [False, True])
def test_adapted_clip_block_matches_explicit(temperature, monkeypatch):
    block = AdaptedCLIPBlock(_clip_block(), adapter_ratio=0.5,
                             temperature=temperature)
    _randomize(block)
    block.eval()
    x = torch.randn(B, L, C)
    causal = torch.full((L, L), float('-inf')).triu(1)
    spy = Spy(monkeypatch)
    with torch.no_grad():
        fast = block(x, causal)
    assert spy.dropout == [0.0]
    monkeypatch.undo()
    Spy(monkeypatch, explicit=True)
    with torch.no_grad():
        ref = block(x, causal)
    torch.testing.assert_close(fast, ref, rtol=1e-5, atol=1e-5)
    monkeypatch.undo()
    # causal: token i never sees tokens after it
    moved = x.clone()
    moved[:, -1] += 5
    with torch.no_grad():
        out = block(moved, causal)
    torch.testing.assert_close(out[:, :-1], fast[:, :-1], rtol=1e-5,
                               atol=1e-5)


def test_adapted_clip_block_dropout_only_in_training(monkeypatch):
    block = AdaptedCLIPBlock(_clip_block(dropout=0.2))
    spy = Spy(monkeypatch)
    block.train()
    block(torch.randn(B, L, C))
    block.eval()
    block(torch.randn(B, L, C))
    assert spy.dropout == [pytest.approx(0.2), 0.0]


def test_dense_attention_pool_matches_explicit(monkeypatch):
    torch.manual_seed(0)
    pool = DenseAttentionPool2d(2, C, 4, output_dim=8)
    pool.eval()
    x = torch.randn(B, C, 3, 4)
    spy = Spy(monkeypatch)
    with torch.no_grad():
        fast = pool(x)
    assert spy.dropout and not any(spy.need_weights)
    monkeypatch.undo()
    Spy(monkeypatch, explicit=True)
    with torch.no_grad():
        ref = pool(x)
    torch.testing.assert_close(fast, ref, rtol=1e-5, atol=1e-5)
