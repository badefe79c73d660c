"""BEiT-3 backbone and tokenizer (Shared-RIS Sec. III-A).

The official key layout is written from the official module tree
(``beit3_test_utils.official_layout``), independently of mmris's loader.
Agreement of the outputs with the official torchscale code itself was
measured outside the repository (configs/shared_ris/README.md).
"""
import math

import pytest
import torch

from beit3_test_utils import (TINY_ARCH, TINY_TEXT_POS, TINY_VOCAB,
                              make_tiny_spm, official_layout,
                              write_official_checkpoint)
from mmris.models.backbones.beit3 import (BEiT3, interpolate_beit3_pos_embed,
                                          load_beit3_checkpoint)
from mmris.models.layers import Multiway
from mmris.models.utils.beit3_tokenizer import BEiT3Tokenizer


@pytest.fixture(scope='module')
def spm_path(tmp_path_factory):
    return make_tiny_spm(str(tmp_path_factory.mktemp('spm')))


def tiny(img_size=64, **kwargs):
    kwargs.setdefault('out_indices', (0, 1, 2, 3))
    return BEiT3(
        arch=TINY_ARCH,
        img_size=img_size,
        vocab_size=TINY_VOCAB,
        max_text_positions=TINY_TEXT_POS,
        context_length=8,
        **kwargs).eval()


def tiny_layout(img_size=64):
    return official_layout(
        TINY_ARCH['embed_dims'], TINY_ARCH['num_layers'], img_size,
        vocab_size=TINY_VOCAB, max_text_positions=TINY_TEXT_POS,
        ffn_dims=TINY_ARCH['ffn_dims'])


def ids_and_pad(lengths, length=8, seed=0):
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(4, TINY_VOCAB, (len(lengths), length), generator=gen)
    pad = torch.zeros(len(lengths), length, dtype=torch.bool)
    for b, n in enumerate(lengths):
        ids[b, 0] = 0
        ids[b, n - 1] = 2
        ids[b, n:] = 1
        pad[b, n:] = True
    return ids, pad


# --------------------------------------------------------------- tokenizer


def test_tokenizer_official_id_mapping(spm_path):
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=spm_path)
    tok = BEiT3Tokenizer(spm_path, context_length=12)
    text = 'the man on the left holding a red cup'
    ids, pad = tok([text, 'dog'])
    pieces = sp.encode(text)[:10]
    expected = [0] + [p + 1 if p else 3 for p in pieces] + [2]
    expected += [1] * (12 - len(expected))
    assert ids[0].tolist() == expected
    assert pad[0].tolist() == [i == 1 for i in expected]
    # a short text: <s> .. </s> then <pad>=1, mask True exactly at padding
    n = 2 + len(sp.encode('dog'))
    assert ids[1, 0] == 0 and ids[1, n - 1] == 2
    assert (ids[1, n:] == 1).all() and pad[1, n:].all()
    assert not pad[1, :n].any()
    # unknown characters map to <unk>=3 (spm id 0), never to 1 (<pad>)
    unk = tok(['\u4e2d\u6587'])[0][0]
    assert 3 in unk.tolist() and 1 not in unk[:3].tolist()


def test_tokenizer_truncation_keeps_end_token(spm_path):
    tok = BEiT3Tokenizer(spm_path, context_length=6)
    ids, pad = tok(['the small red dog next to the big white horse'])
    assert ids.shape == (1, 6) and not pad.any()
    assert ids[0, 0] == 0 and ids[0, -1] == 2
    assert tok.decode(ids)[0].startswith('the small')


def test_tokenizer_errors(spm_path, tmp_path):
    missing = str(tmp_path / 'nowhere' / 'beit3.spm')
    tok = BEiT3Tokenizer(missing, context_length=8)
    with pytest.raises(FileNotFoundError) as err:
        tok(['a dog'])
    message = str(err.value)
    assert 'nowhere' in message and 'addf400/files' in message
    assert 'token_ids' in message
    with pytest.raises(ValueError, match='empty'):
        BEiT3Tokenizer(spm_path)(['a dog', '  '])
    with pytest.raises(ValueError, match='context_length'):
        BEiT3Tokenizer(spm_path, context_length=2)


# ---------------------------------------------------------- key layout


def test_official_key_layout_loads_exactly(tmp_path):
    layout = tiny_layout()
    path = str(tmp_path / 'beit3_tiny.pth')
    state = write_official_checkpoint(path, layout)
    model = tiny(pretrained=path)
    model.init_weights()  # as the runner does: must keep the loaded weights
    own = model.state_dict()
    # zero missing, zero unexpected: our keys are the official ones
    assert set(own) == {k[len('beit3.'):] for k in layout}
    assert len(own) == 11 + 40 * TINY_ARCH['num_layers']  # 491 for base
    for key, value in own.items():
        assert torch.equal(value, state['beit3.' + key]), key
    # the loader reports the dropped pretraining heads
    dropped = load_beit3_checkpoint(model, path)
    assert sorted(dropped) == sorted(
        ['mlm_head.weight', 'mlm_head.bias', 'mim_head.weight',
         'mim_head.bias'])


@pytest.mark.full_size
@pytest.mark.parametrize('img_size,rows', [(224, 199), (480, 903)])
def test_full_size_base_layout(img_size, rows):
    layout = official_layout(768, 12, img_size)
    model = BEiT3(arch='base', img_size=img_size)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes == {k[len('beit3.'):]: v for k, v in layout.items()}
    assert len(shapes) == 491
    assert shapes['encoder.embed_positions.A.weight'] == (rows, 768)
    total = sum(math.prod(s) for s in shapes.values())
    # the official BEiT3Wrapper: 220,987,392 at 224 (mask token included)
    assert total == 220_987_392 + (rows - 199) * 768


def test_bad_checkpoints(tmp_path):
    path = str(tmp_path / 'other.pth')
    torch.save({'model': {'head.weight': torch.zeros(2)}}, path)
    with pytest.raises(KeyError, match='no "beit3'):
        tiny(pretrained=path)
    layout = tiny_layout()
    layout.pop('beit3.encoder.layer_norm.B.bias')
    write_official_checkpoint(path, layout)
    with pytest.raises(KeyError, match='layer_norm.B.bias'):
        tiny(pretrained=path)


def test_missing_pretrained_file_warns(tmp_path):
    with pytest.warns(UserWarning, match='RANDOM weights'):
        model = tiny(pretrained=str(tmp_path / 'beit3_base_patch16_224.pth'))
    assert model.encoder.embed_positions.A.weight.shape[0] == 16 + 3


# ------------------------------------------------- position interpolation


def _cubic(x, a=-0.75):
    x = abs(x)
    if x <= 1:
        return (a + 2) * x**3 - (a + 3) * x**2 + 1
    if x < 2:
        return a * x**3 - 5 * a * x**2 + 8 * a * x - 4 * a
    return 0.0


def _bicubic_1d(values, out_size):
    """Keys' cubic convolution, align_corners=False, edges replicated."""
    n = len(values)
    out = []
    for o in range(out_size):
        src = (o + 0.5) * n / out_size - 0.5
        base = math.floor(src)
        t = src - base
        acc = 0.0
        for k in range(-1, 3):
            idx = min(max(base + k, 0), n - 1)
            acc += values[idx] * _cubic(k - t)
        out.append(acc)
    return out


def test_position_interpolation_by_hand():
    gen = torch.Generator().manual_seed(0)
    table = torch.randn(3 + 4, 2, generator=gen).half()  # 2x2 grid, fp16
    new = interpolate_beit3_pos_embed(table, (3, 3))
    assert new.dtype == torch.float32 and new.shape == (3 + 9, 2)
    # rows 0-1 (fairseq) and 2 (CLS) are kept
    assert torch.equal(new[:3], table[:3].float())
    grid = table[3:].float().reshape(2, 2, 2)
    for c in range(2):
        rows = [_bicubic_1d(grid[i, :, c].tolist(), 3) for i in range(2)]
        hand = [_bicubic_1d([rows[0][j], rows[1][j]], 3) for j in range(3)]
        hand = torch.tensor(hand).T  # (out_row, out_col)
        got = new[3:, c].reshape(3, 3)
        assert torch.allclose(got, hand, atol=1e-5), (got, hand)


def test_load_at_another_size_upcasts_then_interpolates(tmp_path):
    path = str(tmp_path / 'beit3_fp16.pth')
    state = write_official_checkpoint(path, tiny_layout(64), torch.float16)
    model = tiny(img_size=96, pretrained=path)  # 4x4 -> 6x6 patches
    pos = model.encoder.embed_positions.A.weight
    assert pos.dtype == torch.float32 and pos.shape == (3 + 36, 32)
    source = state['beit3.encoder.embed_positions.A.weight'].float()
    expected = torch.cat([
        source[:3],
        torch.nn.functional.interpolate(
            source[3:].reshape(1, 4, 4, 32).permute(0, 3, 1, 2), (6, 6),
            mode='bicubic', align_corners=False).permute(0, 2, 3,
                                                        1).reshape(36, 32)
    ])
    assert torch.allclose(pos, expected, atol=1e-6)
    # the text table is not resized
    assert torch.equal(model.encoder.embed_positions.B.weight,
                       state['beit3.encoder.embed_positions.B.weight'].float())
    assert model.text_embed.weight.dtype == torch.float32


# -------------------------------------------------------------- multiway


def test_multiway_module_routes_by_position():
    a, b = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    way = Multiway(a, b)
    x = torch.randn(2, 5, 3)
    y = way(x, 2)
    assert torch.equal(y[:, :2], a(x[:, :2]))
    assert torch.equal(y[:, 2:], b(x[:, 2:]))
    assert torch.equal(way(x, -1), a(x)) and torch.equal(way(x, 0), b(x))
    with pytest.raises(ValueError, match='split'):
        way(x, 7)


@pytest.mark.parametrize('module', [
    'ffn', 'final_layer_norm', 'self_attn.q_proj', 'self_attn.out_proj',
    'self_attn.inner_attn_ln'
])
def test_multiway_experts_in_the_model(module):
    """Changing expert A of a per-token module changes only the vision
    tokens of layer 1's output, changing expert B only the text tokens
    (keys and values, shared through attention, are left out)."""
    model = tiny()
    images = torch.randn(2, 3, 64, 64)
    ids, pad = ids_and_pad([8, 5])
    with torch.no_grad():
        (base, ), _, split, _ = model.encode(images, ids, pad, taps=(0, ))
        target = model.encoder.layers[0].get_submodule(module)
        for expert, changed in (('A', slice(0, split)),
                                ('B', slice(split, None))):
            params = list(getattr(target, expert).parameters())
            saved = [p.clone() for p in params]
            for p in params:
                p.add_(0.5)
            (out, ), _, _, _ = model.encode(images, ids, pad, taps=(0, ))
            for p, s in zip(params, saved):
                p.copy_(s)
            diff = (out - base).abs().amax(-1)
            other = (slice(split, None) if expert == 'A' else slice(0, split))
            assert diff[:, changed].min() > 1e-4, (module, expert)
            assert diff[:, other].max() == 0, (module, expert)


# ------------------------------------------------------------ padding


def test_padding_never_changes_real_tokens():
    model = tiny()
    images = torch.randn(2, 3, 64, 64)
    ids, pad = ids_and_pad([8, 5], length=8)
    longer = torch.cat([ids, torch.randint(4, TINY_VOCAB, (2, 4))], 1)
    longer_pad = torch.cat([pad, torch.ones(2, 4, dtype=torch.bool)], 1)
    garbage = ids.clone()
    garbage[1, 5:] = torch.tensor([7, 8, 9])  # other ids at padded places
    with torch.no_grad():
        ref = model.forward_ids(images, ids, pad)
        for other_ids, other_pad in ((longer, longer_pad), (garbage, pad)):
            out = model.forward_ids(images, other_ids, other_pad)
            for a, b in zip(ref.visual + ref.visual_cls,
                            out.visual + out.visual_cls):
                assert torch.allclose(a, b, atol=1e-5)
            real = ~pad
            for a, b in zip(ref.word_levels + [ref.words],
                            out.word_levels + [out.words]):
                assert torch.allclose(a[real], b[:, :8][real], atol=1e-5)


# ---------------------------------------------------------- features


def test_features_and_spec(spm_path):
    model = tiny(spm_path=spm_path, out_indices=(1, 3))
    model.tokenizer.context_length = 8
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        feats = model(images, ['the dog on the left', 'a red car'])
        taps, final, split, grid = model.encode(
            images, *model.tokenizer(['the dog on the left', 'a red car']),
            taps=(1, 3, 4))
    spec = model.output_spec()
    assert spec.img_size == (64, 64) and spec.has_joint
    assert len(feats.visual) == len(spec.visual) == 2
    for level, fmap, cls, joint, words in zip(spec.visual, feats.visual,
                                               feats.visual_cls,
                                               feats.joint_levels,
                                               feats.word_levels):
        assert fmap.shape == (2, level.channels, 64 // level.stride,
                              64 // level.stride)
        assert cls.shape == (2, 32) and words.shape == (2, 8, 32)
        # the joint sequence is [CLS, patches row-major, words]
        assert torch.equal(joint[:, 0], cls)
        assert torch.equal(joint[:, 1:split].transpose(1, 2).reshape(
            fmap.shape), fmap)
        assert torch.equal(joint[:, split:], words)
    assert split == 1 + 16 and grid == (4, 4)
    # taps 3/6/9 are the residual stream; the last tap (layer L) is the
    # encoder output after the final norm, as are words and sentence
    assert torch.equal(feats.joint_levels[0], taps[0])
    assert torch.equal(feats.joint_levels[1], taps[2])
    assert not torch.allclose(taps[1], taps[2])
    assert torch.equal(feats.words, final[:, split:])
    assert torch.equal(feats.sentence, feats.words[:, 0])
    assert feats.sentence_index.tolist() == [0, 0]
    assert feats.word_pad_mask.dtype == torch.bool
    assert feats.words.shape[-1] == spec.word_dims == spec.sentence_dims


def test_ids_forms_and_errors():
    model = tiny()
    images = torch.randn(2, 3, 64, 64)
    ids, pad = ids_and_pad([8, 5])
    with torch.no_grad():
        a = model(images, token_ids=ids, padding_mask=pad)
        b = model(images, token_ids=ids, padding_mask=pad.long())  # official
        c = model(images, token_ids=ids)  # pad mask from id 1
    assert torch.equal(a.words, b.words) and torch.equal(a.words, c.words)
    with pytest.raises(ValueError, match='texts or token_ids'):
        model(images)
    with pytest.raises(ValueError, match='token_ids must be'):
        model(images, token_ids=ids[:1])
    with pytest.raises(ValueError, match='out_indices'):
        tiny(out_indices=(3, 1))
    with pytest.raises(ValueError, match='unknown BEiT-3 arch'):
        BEiT3(arch='huge')


def test_drop_path_is_linear_over_depth():
    model = tiny(drop_path_rate=0.3)
    rates = [layer.drop_path.drop_prob if hasattr(layer.drop_path,
                                                  'drop_prob') else 0.0
             for layer in model.encoder.layers]
    assert rates == pytest.approx([0.0, 0.1, 0.2, 0.3])
    model.train()
    images = torch.randn(2, 3, 64, 64)
    ids, pad = ids_and_pad([8, 5])
    torch.manual_seed(0)
    out1 = model.forward_ids(images, ids, pad).words
    out2 = model.forward_ids(images, ids, pad).words
    assert not torch.allclose(out1, out2)  # stochastic in training
    model.eval()
    with torch.no_grad():
        assert torch.equal(
            model.forward_ids(images, ids, pad).words,
            model.forward_ids(images, ids, pad).words)


def test_gradients_reach_both_experts():
    model = tiny().train()
    feats = model.forward_ids(torch.randn(2, 3, 64, 64), *ids_and_pad([8, 5]))
    (feats.visual[-1].mean() + feats.sentence.mean()).backward()
    layer = model.encoder.layers[1]
    for expert in ('A', 'B'):
        assert getattr(layer.ffn, expert).fc1.weight.grad.abs().sum() > 0
    assert model.vision_embed.mask_token.grad is None  # a buffer
