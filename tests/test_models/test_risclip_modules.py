"""RISCLIP components: Adapter, CFE (Eq. 1-3), SKE, the lock-step backbone,
the grounding map, the Refiner and the two training stages."""
import copy

import pytest
import torch
import torch.nn.functional as F

from risclip_test_utils import (SMALL_CLIP, build_small, make_samples,
                                randomize_, train_step)
from mmris.models.layers import (Adapter, AdaptedCLIPBlock,
                                 CrossModalFeatureExtraction,
                                 CrossModalFusion, SKELayer)
from mmris.models.utils import CLIPTokenizer, build_open_clip
from mmris.registry import MODELS
from mmris.utils import register_all_modules

register_all_modules()


def test_adapter_starts_at_zero_and_matches_formula():
    torch.manual_seed(0)
    ad = Adapter(896, 448, scale_init=0.6)
    assert sum(p.numel() for p in ad.parameters()) == 805_056  # Table A1
    assert torch.all(ad.scale == 0.6)
    x = torch.randn(2, 5, 896)
    assert torch.equal(ad(x), torch.zeros_like(x))
    # Kaiming-normal down projection: std sqrt(2 / fan_in)
    assert abs(ad.down.weight.std().item() - (2 / 896)**0.5) < 2e-3
    with torch.no_grad():
        ad.up.weight.normal_()
        ad.scale.uniform_()
    ref = ad.scale * (F.relu(x @ ad.down.weight.T + ad.down.bias)
                      @ ad.up.weight.T + ad.up.bias)
    torch.testing.assert_close(ad(x), ref)


def _plain_clip(seed=0):
    torch.manual_seed(seed)
    return build_open_clip(model_cfg=SMALL_CLIP)


def test_adapted_block_equals_clip_block_untrained_and_uses_temperature():
    clip = _plain_clip()
    block = clip.transformer.resblocks[0]
    ref_block = copy.deepcopy(block)
    wrapped = AdaptedCLIPBlock(block, adapter_ratio=0.5, temperature=True)
    x = torch.randn(2, 7, 64)
    mask = torch.full((7, 7), float('-inf')).triu_(1)
    torch.testing.assert_close(wrapped(x, mask), ref_block(x, attn_mask=mask),
                               atol=1e-5, rtol=1e-5)
    # temperature multiplies the logits: tau = 0 gives uniform attention
    # over the allowed keys (a causal mean of the values)
    with torch.no_grad():
        wrapped.temperature.zero_()
    attn = block.attn
    h = block.ln_1(x)
    v = F.linear(h, attn.in_proj_weight[128:], attn.in_proj_bias[128:])
    mean_v = v.cumsum(1) / torch.arange(1, 8).view(1, 7, 1)
    torch.testing.assert_close(wrapped.attention(h, mask),
                               attn.out_proj(mean_v), atol=1e-5, rtol=1e-5)


def test_maskclip_value_path():
    clip = _plain_clip()
    block = clip.visual.transformer.resblocks[-1]
    wrapped = AdaptedCLIPBlock(block, adapter_ratio=None, maskclip=True)
    assert wrapped.temperature is None
    x = torch.randn(2, 5, 96)
    attn = block.attn
    v = F.linear(block.ln_1(x), attn.in_proj_weight[192:],
                 attn.in_proj_bias[192:])
    y = x + attn.out_proj(v)
    y = y + block.mlp(block.ln_2(y))
    torch.testing.assert_close(wrapped(x), y)


def test_cfe_eq_1_3_zero_init_and_text_padding_mask():
    torch.manual_seed(0)
    cfe = CrossModalFeatureExtraction(896, 640, 640, 10)
    assert sum(p.numel() for p in cfe.parameters()) == 5_252_352  # 5.25 M
    torch.manual_seed(0)
    cfe = CrossModalFeatureExtraction(12, 8, 16, 2)
    v, t = torch.randn(2, 5, 12), torch.randn(2, 4, 8)
    pad = torch.tensor([[False] * 4, [False, False, True, True]])
    v0, t0 = cfe(v, t, pad)
    assert torch.equal(v0, v) and torch.equal(t0, t)  # zero-init identity
    randomize_(cfe, std=0.3)
    v1, t1 = cfe(v, t, pad)
    # Eq. 1-3 by hand
    vs, ts = cfe.v2s(v), cfe.t2s(t)
    mha_v, mha_t = cfe.fusion.attn_v, cfe.fusion.attn_t
    vm = mha_v(vs, ts, ts, key_padding_mask=pad)[0]
    tm = mha_t(ts, vs, vs)[0]
    torch.testing.assert_close(v1, v + cfe.scale_v * cfe.s2v(vm))
    torch.testing.assert_close(t1, t + cfe.scale_t * cfe.s2t(tm))
    # the image stream ignores padded text
    t_other = t.clone()
    t_other[1, 2:] = 100.0
    v2, t2 = cfe(v, t_other, pad)
    torch.testing.assert_close(v2, v1)
    torch.testing.assert_close(t2[1, :2], t1[1, :2])
    assert not torch.allclose(v1, v)  # and the real text does matter


@pytest.mark.parametrize('mode', ['mhca', 'mhsa_concat', 'mhca_concat'])
def test_fusion_modes_honour_padding(mode):
    torch.manual_seed(0)
    fusion = CrossModalFusion(16, 2, mode)
    v, t = torch.randn(2, 6, 16), torch.randn(2, 5, 16)
    pad = torch.zeros(2, 5, dtype=torch.bool)
    pad[0, 3:] = True
    dv, dt = fusion(v, t, pad)
    assert dv.shape == v.shape and dt.shape == t.shape
    t2 = t.clone()
    t2[0, 3:] = -50.0
    dv2, dt2 = fusion(v, t2, pad)
    torch.testing.assert_close(dv2, dv)
    torch.testing.assert_close(dt2[0, :3], dt[0, :3])
    torch.testing.assert_close(dt2[1], dt[1])
    if mode == 'mhsa_concat':
        assert not hasattr(fusion, 'attn_v')


def test_ske_layer_zero_value_init_and_parameter_count():
    layer = SKELayer(640, 8)
    # 2 streams x (MHCA + MHSA + MLP 4x + 3 LN + 3 scalers)
    assert sum(p.numel() for p in layer.parameters()) == 13_135_360
    torch.manual_seed(0)
    layer = SKELayer(16, 2)
    for mha in (layer.self_v, layer.self_t, layer.cross.attn_v,
                layer.cross.attn_t):
        assert torch.all(mha.in_proj_weight[32:] == 0)
        assert torch.all(mha.out_proj.bias == 0)
    v, t = torch.randn(2, 6, 16), torch.randn(2, 5, 16)
    # attention branches are zero: only the MLPs act
    v1, t1 = layer(v, t)
    v_ref = v + layer.scale_mlp_v * layer.mlp_v(layer.norm_mlp_v(v))
    torch.testing.assert_close(v1, v_ref)
    assert torch.all(layer.scale_cross_v == 0.5)


def test_backbone_untrained_equals_plain_clip():
    """Zero-initialised Adapters and CFE leave CLIP's features unchanged:
    the taps equal CLIP's layer outputs, the words CLIP's projected text
    tokens, t_eos CLIP's text embedding and V_patch MaskCLIP's features."""
    clip = _plain_clip(seed=0)
    torch.manual_seed(0)
    backbone = MODELS.build(
        dict(type='RISCLIPBackbone', model_cfg=SMALL_CLIP, img_size=64,
             context_length=77, num_cfe=2, out_indices=(0, 1, 2)))
    backbone.eval()
    images = torch.randn(2, 3, 64, 64)
    texts = ['a man in a red shirt', 'left dog']
    feats = backbone(images, texts)
    ids = CLIPTokenizer(77)(texts)[0]
    with torch.no_grad():
        torch.testing.assert_close(
            feats.sentence, clip.encode_text(ids), atol=1e-5, rtol=1e-5)
        text = clip.ln_final(
            clip.transformer(clip.token_embedding(ids) +
                             clip.positional_embedding,
                             attn_mask=clip.attn_mask))
        torch.testing.assert_close(feats.words, text, atol=1e-5, rtol=1e-5)
        vis = clip.visual
        x = vis.conv1(images).flatten(2).transpose(1, 2)
        x = torch.cat([vis.class_embedding.expand(2, 1, -1), x], 1)
        from mmris.models.backbones.clip_vit import resize_pos_embed
        x = vis.ln_pre(x + resize_pos_embed(vis.positional_embedding,
                                            (8, 8), 'bicubic'))
        blocks = vis.transformer.resblocks
        outs = []
        for blk in blocks[:-1]:
            x = blk(x)
            outs.append(x)
        for i in range(3):
            torch.testing.assert_close(
                feats.visual[i],
                outs[i][:, 1:].transpose(1, 2).reshape(2, 96, 8, 8),
                atol=1e-5, rtol=1e-5)
        last = blocks[-1]
        v = F.linear(last.ln_1(x), last.attn.in_proj_weight[192:],
                     last.attn.in_proj_bias[192:])
        x = x + last.attn.out_proj(v)
        x = x + last.mlp(last.ln_2(x))
        patches = vis.ln_post(x[:, 1:]) @ vis.proj
        torch.testing.assert_close(
            feats.extras['shared_visual'],
            patches.transpose(1, 2).reshape(2, 64, 8, 8), atol=1e-5,
            rtol=1e-5)
    # trained modules exist where the paper puts them
    assert len(backbone.cfe) == 2
    assert all(b.adapter_attn is not None for b in backbone.visual_blocks)
    assert backbone.visual_blocks[-1].temperature is None  # MaskCLIP layer


def test_padding_never_changes_a_real_token():
    """Text lengths 24 and 40 give the same outputs at every real token,
    the same image features and the same grounding map, with random
    (non-zero) Adapters, CFE and SKE."""
    model = build_small(context_length=40)
    randomize_(model, std=0.05)
    model.eval()
    short = copy.deepcopy(model)
    bb = short.backbone
    bb.context_length = 24
    bb.tokenizer = CLIPTokenizer(24)
    bb.text_positional_embedding = bb.text_positional_embedding[:24].clone()
    bb.attn_mask = bb.attn_mask[:24, :24].clone()
    images = torch.randn(2, 3, 64, 64)
    metas = [dict(text=t) for t in ('the tall giraffe', 'a dog on the left')]
    with torch.no_grad():
        long_f = model.extract_feat(images, metas)
        short_f = short.extract_feat(images, metas)
    real = ~short_f.word_pad_mask
    assert real.sum() < real.numel()  # there is padding
    torch.testing.assert_close(short_f.words[real],
                               long_f.words[:, :24][real], atol=1e-5,
                               rtol=1e-5)
    torch.testing.assert_close(short_f.sentence, long_f.sentence, atol=1e-5,
                               rtol=1e-5)
    for a, b in zip(short_f.visual, long_f.visual):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(short_f.extras['grounding_map'],
                               long_f.extras['grounding_map'], atol=1e-5,
                               rtol=1e-5)


def test_grounding_map_is_scaled_cosine_and_responds_to_the_sentence():
    model = build_small(ske_layers=0, num_cfe=0)
    model.eval()
    images = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        feats = model.backbone(images, ['a red car'])
        out = model.neck(feats)
        cos = F.cosine_similarity(
            feats.extras['shared_visual'],
            feats.sentence[:, :, None, None], dim=1)[:, None]
        torch.testing.assert_close(out.extras['grounding_map'], 10 * cos,
                                   atol=1e-5, rtol=1e-5)
        assert out.extras['grounding_map'].shape == (1, 1, 8, 8)
        assert out.backbone_visual[0] is feats.visual[0]
        assert torch.equal(out.sentence_index, feats.sentence_index)
    # with trained (random) modules the map depends on the sentence
    model = build_small()
    randomize_(model, std=0.05)
    model.eval()
    with torch.no_grad():
        maps = [
            model.extract_feat(images, [dict(text=t)]).extras['grounding_map']
            for t in ('the man on the left', 'a bowl of soup on a table')
        ]
    assert (maps[0] - maps[1]).abs().max() > 1e-3


def test_area_downsampled_soft_target():
    head = MODELS.build(dict(type='RISCLIPHead', in_channels=8,
                             in_index=(0, ), output_stride=4))
    samples = make_samples(size=8, texts=('a', ))
    mask = torch.zeros(1, 8, 8, dtype=torch.long)
    mask[0, :4, :2] = 1  # top-left cell: 8 of 16 pixels
    mask[0, 4:, 4:] = 255  # bottom-right cell: ignored
    mask[0, 4:, :4] = torch.tensor([1, 1, 1, 0]).repeat(4, 1)  # 12 of 16
    samples[0].gt_sem_seg.data = mask
    target, valid = head.prepare_targets(samples, (2, 2))
    torch.testing.assert_close(target[0, 0],
                               torch.tensor([[0.5, 0.0], [0.75, 0.0]]))
    assert valid[0, 0].tolist() == [[True, True], [True, False]]
    head.target_downsample = 'nearest'
    target, _ = head.prepare_targets(samples, (2, 2))
    assert set(target.unique().tolist()) <= {0.0, 1.0}


def test_refiner_shapes_and_input_size_output():
    head = MODELS.build(dict(type='RISCLIPHead', in_channels=32,
                             stage='refiner', output_stride=14))
    levels = [torch.randn(1, 32, 5, 5) for _ in range(4)]
    gmap = torch.randn(1, 1, 5, 5)
    out = head.decoder(levels, gmap.sigmoid(), (70, 70))
    assert out.shape == (1, 1, 70, 70)
    stage = head.decoder.stages[-1][0]
    assert stage.conv.in_channels == 33 and stage.order == ('conv', 'act',
                                                            'norm')
    assert head.decoder.stages[0][0].conv.in_channels == 16 + 32
    assert stage.conv.bias is None


def test_stage_one_trains_modules_not_clip_nor_decoder():
    model = build_small(stage=1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    losses = train_step(model, torch.randn(2, 3, 64, 64), make_samples())
    assert set(losses) >= {'loss_dice', 'loss_focal'}
    clip_names = {'backbone.' + n for n, _ in model.backbone.clip_parameters()}
    assert clip_names
    changed = {k for k, v in model.state_dict().items()
               if not torch.equal(v, before[k])}
    assert not changed & clip_names
    assert not any(k.startswith('decode_head') for k in changed)
    for name in ('backbone.visual_blocks.1.adapter_attn.down.weight',
                 'backbone.text_blocks.0.adapter_mlp.up.weight',
                 'backbone.cfe.0.s2v.weight', 'backbone.cfe.1.s2t.weight',
                 'neck.layers.0.mlp_v.0.weight', 'neck.grounding_log_scale',
                 'neck.grounding_bias', 'backbone.text_blocks.2.temperature'):
        assert name in changed, name
    for name, p in model.named_parameters():
        if name in clip_names:
            assert not p.requires_grad and p.grad is None, name


def test_stage_two_changes_only_decoder_weights():
    model = build_small(stage=2)
    randomize_(model.backbone)  # nothing there may train
    model.train()
    assert not model.backbone.training and not model.neck.training
    assert model.decode_head.decoder.training
    assert model.decode_head.decoder.stages[0][0].bn.training
    before = {k: v.clone() for k, v in model.state_dict().items()}
    train_step(model, torch.randn(2, 3, 64, 64), make_samples())
    changed = {k for k, v in model.state_dict().items()
               if not torch.equal(v, before[k])}
    assert changed and all(k.startswith('decode_head.decoder.')
                           for k in changed)
    assert 'decode_head.decoder.cls.weight' in changed
    assert 'decode_head.decoder.stages.0.0.bn.running_mean' in changed
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {n for n, _ in model.named_parameters()
                         if n.startswith('decode_head.decoder.')}


def test_staged_segmentor_rejects_unknown_prefix():
    from risclip_test_utils import small_model_cfg
    cfg = small_model_cfg()
    cfg['trainable'] = ('decoder', )
    with pytest.raises(ValueError, match='matches no parameter'):
        MODELS.build(cfg)


def test_predict_in_both_stages():
    for stage in (1, 2):
        model = build_small(stage=stage)
        model.eval()
        samples = make_samples()
        with torch.no_grad():
            out = model.predict(torch.randn(2, 3, 64, 64), samples)
        assert out[0].pred_sem_seg.data.shape == (1, 64, 64)
        assert out[0].seg_logits.data.shape == (1, 64, 64)


def test_fine_tuned_variant_trains_clip():
    model = build_small(freeze_clip=False)
    names = {'backbone.' + n for n, _ in model.backbone.clip_parameters()}
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert 'backbone.visual_blocks.0.block.attn.in_proj_weight' in trainable
    assert names <= trainable


def test_stage_one_under_bf16_autocast():
    """Stage 1 trains under bf16 autocast (Table A1): the forward runs in
    bf16 and the losses come out in float32, finite, with gradients."""
    model = build_small(stage=1)
    model.train()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model.loss(torch.randn(2, 3, 64, 64), make_samples())
        feats = model.extract_feat(torch.randn(1, 3, 64, 64),
                                   [dict(text='a dog')])
    assert feats.extras['shared_visual'].dtype == torch.bfloat16
    loss = losses['loss_dice'] + losses['loss_focal']
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    loss.backward()
    grad = model.backbone.cfe[0].s2v.weight.grad
    assert grad is not None and grad.abs().sum() > 0


def test_output_specs_match_the_features():
    model = build_small()
    model.eval()
    bb_spec = model.backbone.output_spec()
    assert model.head_in_spec is not None
    with torch.no_grad():
        feats = model.backbone(torch.randn(1, 3, 64, 64), ['a dog'])
        out = model.neck(feats)
    for spec, f in ((bb_spec, feats), (model.head_in_spec, out)):
        assert spec.channels == tuple(v.shape[1] for v in f.visual)
        assert spec.word_dims == f.words.shape[-1]
        assert spec.sentence_dims == f.sentence.shape[-1]
        assert set(spec.extras) <= set(f.extras)
        assert f.sentence_index is not None
        for i, v in enumerate(f.visual):
            assert v.shape[-2:] == spec.grid(i)
    assert bb_spec.extra_dim('shared_visual') == 64
    assert 'grounding_map' in model.head_in_spec.extras
    # widths left out of a config come from the specs
    from risclip_test_utils import small_model_cfg
    cfg = small_model_cfg()
    cfg['neck'].pop('embed_dims')
    for key in ('in_channels', 'output_stride'):
        cfg['decode_head'].pop(key)
    model = MODELS.build(cfg)
    assert model.neck.embed_dims == 64
    assert model.decode_head.output_stride == 8
    assert model.decode_head.decoder.stages[0][0].conv.in_channels == 96 + 48


def test_head_without_grounding_map_is_refused_at_build():
    from mmris.structures import SpecMismatchError
    from risclip_test_utils import small_model_cfg
    cfg = small_model_cfg()
    cfg.pop('neck')
    with pytest.raises(SpecMismatchError, match='grounding'):
        MODELS.build(cfg)
    cfg = small_model_cfg()
    cfg['neck']['embed_dims'] = 32
    with pytest.raises(SpecMismatchError, match='embed_dims'):
        MODELS.build(cfg)


def test_ske_neck_and_refiner_after_a_plain_clip_vit():
    """SKE on another backbone: it projects visual[-1] and the words into
    its space (widths from the backbone's spec) and the Refiner reads the
    backbone's taps; the loss reaches the backbone."""
    cfg = dict(
        type='RefSegmentor',
        backbone=dict(type='CLIPViT', model_cfg=SMALL_CLIP, img_size=64,
                      context_length=12, out_indices=(0, 1, 2, 3)),
        neck=dict(type='SKENeck', embed_dims=32, num_layers=1, num_heads=2),
        decode_head=dict(type='RISCLIPHead', stage='refiner'),
        data_preprocessor=dict(type='SegDataPreProcessor', size=(64, 64)))
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    assert model.neck.visual_proj.in_features == 96
    assert model.neck.word_proj.in_features == 64
    assert model.decode_head.output_stride == 8
    losses = train_step(model, torch.randn(2, 3, 64, 64), make_samples())
    assert losses['loss_dice'] > 0
    assert model.backbone.resblocks[0].attn.in_proj_weight.grad is not None


def test_cris_head_after_risclip_and_ske():
    """Another head on RISCLIP: the CRIS head reads the SKE'd map, words
    and t_eos (all d-dimensional) with widths from the spec."""
    from risclip_test_utils import small_model_cfg
    cfg = small_model_cfg()
    cfg['trainable'] = None
    cfg['decode_head'] = dict(type='CRISHead', num_layers=1, num_heads=2,
                              ffn_dims=32, proj_channels=16)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    losses = train_step(model, torch.randn(2, 3, 64, 64), make_samples())
    assert torch.isfinite(sum(v for k, v in losses.items()
                              if k.startswith('loss')))


def test_clip_weights_from_a_local_file_and_missing_file(tmp_path):
    """The backbone loads an open_clip state dict from a local file; a
    configured file that is missing gives a warning and random weights."""
    clip = _plain_clip(seed=3)
    path = str(tmp_path / 'clip.pt')
    torch.save(clip.state_dict(), path)
    torch.manual_seed(0)
    backbone = MODELS.build(
        dict(type='RISCLIPBackbone', model_cfg=SMALL_CLIP, pretrained=path,
             img_size=32, context_length=16, num_cfe=1))
    assert torch.equal(backbone.conv1.weight, clip.visual.conv1.weight)
    assert torch.equal(backbone.text_blocks[2].block.attn.in_proj_weight,
                       clip.transformer.resblocks[2].attn.in_proj_weight)
    assert torch.equal(backbone.positional_embedding,
                       clip.visual.positional_embedding)  # 4x4 grid kept
    with pytest.warns(UserWarning, match='RANDOM weights'):
        MODELS.build(
            dict(type='RISCLIPBackbone', model_cfg=SMALL_CLIP,
                 pretrained=str(tmp_path / 'missing.pt'), img_size=32,
                 context_length=16, num_cfe=1))
