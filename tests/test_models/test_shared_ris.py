"""Shared FPN (Eq. 6-7) and Shared Mask Decoder (Eq. 8-11) of Shared-RIS.

Hand computations of both modules, padding, the contract on a dual-encoder
(CLIP) backbone, and the parameter counts of S Tab. IV-VIII at full size.
"""
import pytest
import torch
import torch.nn.functional as F

from beit3_test_utils import tiny_beit3_cfg
from mmris.models.heads import SharedMaskDecoder
from mmris.models.necks import SharedFPN
from mmris.registry import MODELS
from mmris.structures import SpecMismatchError, VLFeatures
from mmris.testing.mixing_matrix import BACKBONES, make_batch
from mmris.utils import register_all_modules

register_all_modules(init_default_scope=True)


def features(b=2, c=24, ct=24, h=3, w=4, length=6, levels=2, cls=True,
             pad_from=(6, 4), seed=0):
    gen = torch.Generator().manual_seed(seed)
    pad = torch.zeros(b, length, dtype=torch.bool)
    for i, n in enumerate(pad_from):
        pad[i, n:] = True
    words = torch.randn(b, length, ct, generator=gen)
    return VLFeatures(
        visual=[torch.randn(b, c, h, w, generator=gen) for _ in range(levels)],
        words=words,
        word_pad_mask=pad,
        sentence=words[:, 0],
        visual_cls=[torch.randn(b, c, generator=gen)
                    for _ in range(levels)] if cls else None,
        word_levels=[torch.randn(b, length, ct, generator=gen)
                     for _ in range(levels)],
        sentence_index=torch.zeros(b, dtype=torch.long))


def params(module):
    return sum(p.numel() for p in module.parameters())


# ------------------------------------------------------------ Shared FPN


@pytest.mark.parametrize('per_modality', [True, False])
def test_shared_fpn_by_hand(per_modality):
    feats = features()
    neck = SharedFPN(in_channels=(24, 24), word_dims=(24, 24), embed_dims=16,
                     num_heads=2, proj_per_modality=per_modality).eval()
    out = neck(feats)
    pad = torch.cat([torch.zeros(2, 13, dtype=torch.bool),
                     feats.word_pad_mask], 1)
    zs = []
    for k in range(2):
        vis = torch.cat([feats.visual_cls[k][:, None],
                         feats.visual[k].flatten(2).transpose(1, 2)], 1)
        wv = neck.visual_projs[k]
        wt = neck.word_projs[k] if per_modality else wv
        x = torch.cat([wv(vis), wt(feats.word_levels[k])], 1)  # h_j W_j
        norm = neck.fusions[k].norm
        y = F.layer_norm(x, (16, ), norm.weight, norm.bias)
        attn = neck.fusions[k].attn
        y = F.multi_head_attention_forward(
            y.transpose(0, 1), y.transpose(0, 1), y.transpose(0, 1), 16, 2,
            attn.in_proj_weight, attn.in_proj_bias, None, None, False, 0.0,
            attn.out_proj.weight, attn.out_proj.bias, training=False,
            key_padding_mask=pad, need_weights=False)[0].transpose(0, 1)
        zs.append(x + y)  # Eq. 6
    z = neck.fuse(torch.cat(zs, -1))  # Eq. 7
    assert torch.allclose(out.joint_levels[0], z, atol=1e-5)
    assert torch.allclose(out.visual_cls[0], z[:, 0], atol=1e-5)
    assert torch.allclose(out.visual[0].flatten(2).transpose(1, 2),
                          z[:, 1:13], atol=1e-5)
    assert torch.allclose(out.words, z[:, 13:], atol=1e-5)
    assert torch.allclose(out.sentence, z[:, 13], atol=1e-5)
    assert out.word_levels is None
    assert out.backbone_visual is feats.visual
    assert torch.equal(out.word_pad_mask, feats.word_pad_mask)


def test_shared_fpn_padding_and_errors():
    neck = SharedFPN(in_channels=24, word_dims=24, in_index=(0, 1),
                     embed_dims=16, num_heads=2).eval()
    feats = features()
    other = features()
    for k in range(2):  # other values at padded places only
        other.word_levels[k][1, 4:] = 5.0
    a, b = neck(feats), neck(other)
    assert torch.allclose(a.visual[0], b.visual[0], atol=1e-6)
    assert torch.allclose(a.words[1, :4], b.words[1, :4], atol=1e-6)
    with pytest.raises(SpecMismatchError, match='proj_per_modality'):
        SharedFPN(in_channels=24, word_dims=16, in_index=(0, ),
                  proj_per_modality=False)
    with pytest.raises(ValueError, match='in_index'):
        SharedFPN(in_channels=24, word_dims=24)


def test_shared_fpn_resamples_levels_without_cls():
    """A CNN-like pyramid (no CLS, several grids): resampled to one grid."""
    feats = VLFeatures(
        visual=[torch.randn(2, 8, 8, 8), torch.randn(2, 12, 4, 4)],
        words=torch.randn(2, 5, 6),
        word_pad_mask=torch.zeros(2, 5, dtype=torch.bool),
        sentence=torch.randn(2, 6))
    neck = SharedFPN(in_channels=(8, 12), word_dims=6, embed_dims=16,
                     num_heads=2)
    out = neck(feats)
    assert out.visual[0].shape == (2, 16, 4, 4) and out.visual_cls is None
    assert out.joint_levels[0].shape == (2, 16 + 5, 16)


@pytest.mark.parametrize('mode', ['cross', 'bidirectional'])
def test_fusion_alternatives(mode):
    """Tab. VII(b) / VIII(b): vision queries attend to the words only; the
    words change only with the bi-directional fusion."""
    from mmris.models.layers import JointAttention
    fusion = JointAttention(8, 2, mode).eval()
    x = torch.randn(2, 5 + 4, 8)
    pad = torch.zeros(2, 9, dtype=torch.bool)
    pad[1, 7:] = True
    out = fusion(x, 5, pad)
    y = fusion.norm(x)
    vis = x[:, :5] + fusion.attn(y[:, :5], y[:, 5:], y[:, 5:],
                                 key_padding_mask=pad[:, 5:])[0]
    assert torch.allclose(out[:, :5], vis, atol=1e-6)
    if mode == 'cross':
        assert torch.equal(out[:, 5:], x[:, 5:])
    else:
        assert not torch.allclose(out[:, 5:], x[:, 5:])
    other = x.clone()
    other[1, 7:] = 9.0  # padded words are never attended to
    assert torch.allclose(fusion(other, 5, pad)[1, :7], out[1, :7],
                          atol=1e-6)
    neck = SharedFPN(in_channels=24, word_dims=24, in_index=(0, 1),
                     embed_dims=16, num_heads=2, fusion=mode)
    head = SharedMaskDecoder(in_channels=16, word_dims=16, embed_dims=16,
                             num_heads=2, fusion=mode)
    assert head(neck(features())).shape == (2, 1, 12, 16)
    with pytest.raises(ValueError, match='fusion mode'):
        JointAttention(8, 2, 'gated')


# ------------------------------------------------------- Shared decoder


def test_shared_decoder_by_hand():
    feats = features(c=16, ct=16, levels=1)
    head = SharedMaskDecoder(in_channels=16, word_dims=16, embed_dims=16,
                             num_heads=2, num_layers=1).eval()
    logits = head(feats)
    assert logits.shape == (2, 1, 12, 16)  # stride 4 from the 3x4 grid
    z = torch.cat([feats.visual_cls[0][:, None],
                   feats.visual[0].flatten(2).transpose(1, 2),
                   feats.words], 1)
    pad = torch.cat([torch.zeros(2, 13, dtype=torch.bool),
                     feats.word_pad_mask], 1)
    layer = head.layers[0]
    y = layer.fusion.norm(z)
    u = z + layer.fusion.attn(y, y, y, key_padding_mask=pad)[0]  # Eq. 8
    u = u + layer.mlp(layer.norm(u))  # Eq. 9
    fmap = u[:, 1:13].transpose(1, 2).reshape(2, 16, 3, 4)
    for up in head.upsamples:  # Eq. 10
        fmap = up[1](F.interpolate(fmap, scale_factor=2, mode='bilinear'))
    t = head.sentence_mlp(u[:, 13])  # Eq. 11: t'_cls = MLP(t_u^cls)
    expected = (fmap * t[:, :, None, None]).sum(1, keepdim=True)
    assert torch.allclose(logits, expected, atol=1e-5)


def test_shared_decoder_padding_sentence_index_and_no_fusion():
    head = SharedMaskDecoder(in_channels=24, word_dims=24, embed_dims=16,
                             num_heads=2).eval()
    feats = features(levels=1)
    other = features(levels=1)
    other.words[1, 4:] = -3.0
    assert torch.allclose(head(feats), head(other), atol=1e-5)
    # the sentence token is read at sentence_index
    moved = features(levels=1)
    moved.sentence_index = torch.tensor([0, 3])
    diff = (head(moved) - head(feats)).flatten(1).abs().amax(1)
    assert diff[0] == 0 and diff[1] > 0
    # "No Fusion": no shared layer, the words reach the mask only through
    # the sentence token
    plain = SharedMaskDecoder(in_channels=24, word_dims=24, embed_dims=16,
                              num_layers=0).eval()
    changed = features(levels=1)
    changed.words[:, 1:] += 1.0
    assert torch.allclose(plain(feats), plain(changed))


def test_shared_decoder_loss_weights():
    head = SharedMaskDecoder(in_channels=24, word_dims=24, embed_dims=16,
                             num_heads=2)
    names = {type(l).__name__: l.loss_weight for l in head.loss_decode}
    assert names == {'MaskBCELoss': 2.0, 'MaskDiceLoss': 0.5}
    batch = make_batch(batch_size=2, img_size=48)
    feats = features(levels=1)
    losses = head.loss(feats, batch['data_samples'])
    assert set(losses) >= {'loss_bce', 'loss_dice'}
    logits = head(feats)
    target, valid = head.prepare_targets(batch['data_samples'],
                                         logits.shape[-2:])
    bce = F.binary_cross_entropy_with_logits(logits[valid], target[valid])
    assert torch.allclose(losses['loss_bce'], 2.0 * bce, atol=1e-5)


# ----------------------------------------------- through the contract


@pytest.mark.parametrize('backbone', ['BEiT3', 'CLIPViT', 'CLIPResNet'])
def test_shared_ris_on_any_backbone(backbone):
    """Built from the declared specs (no widths in the config), one
    training step reaches every part; prediction has the input size."""
    bb = (tiny_beit3_cfg(img_size=96) if backbone == 'BEiT3' else dict(
        BACKBONES[backbone]))
    if 'img_size' in bb:
        bb['img_size'] = 96
    cfg = dict(
        type='RefSegmentor',
        data_preprocessor=dict(
            type='SegDataPreProcessor', mean=[127.5] * 3, std=[127.5] * 3,
            bgr_to_rgb=True, size=(96, 96)),
        backbone=bb,
        neck=dict(type='SharedFPN', embed_dims=16, num_heads=2),
        decode_head=dict(type='SharedMaskDecoder', embed_dims=16,
                         num_heads=2))
    if backbone == 'CLIPResNet':
        cfg['neck']['grid_level'] = 1  # the stride-16 level
    model = MODELS.build(cfg)
    if backbone == 'BEiT3':
        model.backbone.tokenizer = _FakeTokenizer(8)
    spec = model.neck.output_spec()
    assert spec.visual[0].channels == 16 and spec.has_joint
    batch = make_batch(batch_size=2, img_size=96)
    optim = torch.optim.SGD(model.parameters(), lr=0.1)
    from mmengine.optim import OptimWrapper
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    log = model.train_step(batch, OptimWrapper(optim))
    assert torch.isfinite(log['loss'])
    changed = {n for n, p in model.named_parameters()
               if not torch.equal(before[n], p)}
    for prefix in ('backbone.', 'neck.word_projs', 'neck.visual_projs',
                   'neck.fuse', 'decode_head.layers', 'decode_head.upsamples',
                   'decode_head.sentence_mlp'):
        assert any(n.startswith(prefix) for n in changed), prefix
    model.eval()
    with torch.no_grad():
        out = model.test_step(batch)
    assert out[0].pred_sem_seg.data.shape[-2:] == \
        batch['data_samples'][0].metainfo['ori_shape'][:2]


class _FakeTokenizer:
    """Stands in for beit3.spm in the contract test: ids from characters."""

    def __init__(self, length):
        self.context_length = length

    def __call__(self, texts):
        ids = torch.ones(len(texts), self.context_length, dtype=torch.long)
        for i, text in enumerate(texts):
            pieces = [4 + ord(c) % 200 for c in text][:self.context_length - 2]
            row = [0] + pieces + [2]
            ids[i, :len(row)] = torch.tensor(row)
        return ids, ids == 1


# ---------------------------------------------- parameter counts (full)


@pytest.mark.full_size
def test_parameter_counts_against_the_paper():
    from mmris.models.backbones import BEiT3
    from mmris.structures import FeatureSpec, LevelSpec
    backbone = BEiT3(arch='base', img_size=480)
    n_backbone = params(backbone)
    # the official model at 480 (its mask token is a buffer here)
    assert n_backbone + 768 == 221_528_064
    spec = backbone.output_spec()
    neck = SharedFPN(in_spec=spec)
    neck_literal = SharedFPN(in_spec=spec, proj_per_modality=False)
    head = SharedMaskDecoder(in_spec=neck.output_spec())
    m = 1e6
    # Tab. VI: 239 M (literal Eq. 6: 236.8 M; per-modality W_j: 238.3 M)
    for n_neck in (params(neck), params(neck_literal)):
        total = (n_backbone + n_neck + params(head)) / m
        assert abs(total - 239) / 239 < 0.01, total
    # Tab. IV / VII(a): Shared FPN 8 M at K = 4, 6 M at K = 3, 4 M at K = 2
    # (rounded to integers: within 0.5 M)
    for index, paper in (((0, 1, 2, 3), 8), ((1, 2, 3), 6), ((2, 3), 4)):
        sub = spec.replace(visual=spec.visual[:len(index)],
                           word_level_dims=spec.word_level_dims[:len(index)])
        assert abs(params(SharedFPN(in_spec=sub)) / m - paper) < 0.5, index
    # Tab. V / VIII(a): decoder 5 M (no fusion), 9 M, 12 M, 15 M for 0-3
    # shared layers; our reading gives 5.25 / 8.40 / 11.55 / 14.70 M (the
    # paper's 9 M for one layer is 0.6 M above; the per-layer step of 3 M is
    # one 512-d layer with MLP ratio 4, 3.15 M)
    for layers, paper in ((0, 5), (1, 9), (2, 12), (3, 15)):
        n = params(SharedMaskDecoder(in_spec=neck.output_spec(),
                                     num_layers=layers)) / m
        assert abs(n - paper) <= 0.61, (layers, n)
    # Tab. IV "FPN in CRIS": 23 M on stages {4, 8, 12}
    from mmris.models.necks import CRISNeck
    cris_spec = spec.replace(visual=spec.visual[:3],
                             word_level_dims=spec.word_level_dims[:3])
    assert abs(params(CRISNeck(in_spec=cris_spec, out_channels=512)) / m -
               23) < 0.5
    assert isinstance(spec.visual[0], LevelSpec)
    assert isinstance(spec, FeatureSpec)
