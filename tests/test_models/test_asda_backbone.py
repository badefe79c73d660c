"""CLIPViT: per-layer taps, CLS tokens, resized positional embedding."""
import importlib.util
import os.path as osp

import pytest
import torch

import mmris  # noqa: F401
from mmris.models.backbones.clip_vit import resize_pos_embed
from mmris.registry import MODELS
from mmris.utils import register_all_modules

register_all_modules()
_spec = importlib.util.spec_from_file_location(
    'asda_test_utils', osp.join(osp.dirname(__file__), 'asda_test_utils.py'))
U = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(U)


def test_shapes_and_fields():
    model = MODELS.build(U.small_backbone())
    feats = model(torch.randn(2, 3, U.IMG, U.IMG), U.TEXTS[:2])
    assert len(feats.visual) == len(feats.visual_cls) == 7
    for fmap, cls in zip(feats.visual, feats.visual_cls):
        assert fmap.shape == (2, 64, 4, 4)
        assert cls.shape == (2, 64)
    assert feats.words.shape == (2, 17, 32)
    assert feats.sentence.shape == (2, 32)  # no text projection
    assert feats.word_pad_mask.dtype == torch.bool
    assert feats.extras['visual_layer_ids'] == (3, 4, 5, 6, 7, 8, 11)
    # only the blocks up to the deepest tapped layer are kept
    assert len(model.resblocks) == 12
    short = MODELS.build(U.small_backbone(out_indices=(1, 4)))
    assert len(short.resblocks) == 5
    assert not hasattr(short, 'ln_post')


def test_taps_are_layer_outputs():
    """The map and CLS of tap i are the tokens after block out_indices[i]."""
    model = MODELS.build(U.small_backbone(out_indices=(0, 2))).eval()
    img = torch.randn(1, 3, U.IMG, U.IMG)
    maps, cls = model.forward_visual(img)
    x = model.conv1(img).flatten(2).transpose(1, 2)
    x = torch.cat([model.class_embedding.expand(1, 1, -1), x], 1)
    x = model.ln_pre(x + model.positional_embedding)
    outs = []
    for block in model.resblocks:
        x = block(x)
        outs.append(x)
    for tap, layer in zip(range(2), (0, 2)):
        torch.testing.assert_close(cls[tap], outs[layer][:, 0])
        torch.testing.assert_close(
            maps[tap].flatten(2).transpose(1, 2), outs[layer][:, 1:])


def test_positional_embedding_resized_from_clip_grid():
    from mmris.models.utils import build_open_clip
    torch.manual_seed(0)
    clip = build_open_clip(model_cfg=U.SMALL_CLIP)
    orig = clip.visual.positional_embedding.detach()  # 1 + 2*2 rows
    torch.manual_seed(0)
    model = MODELS.build(U.small_backbone())
    pos = model.positional_embedding
    assert pos.requires_grad and pos.shape == (1 + 16, 64)
    torch.testing.assert_close(pos[0], orig[0])  # CLS row kept
    torch.testing.assert_close(pos.detach(),
                               resize_pos_embed(orig, (4, 4)))
    # 14x14 -> 26x26 as in ASDA (416 / 16)
    big = resize_pos_embed(torch.randn(197, 8), (26, 26))
    assert big.shape == (677, 8)


def test_freeze_and_validation():
    model = MODELS.build(U.small_backbone(freeze_visual=True))
    assert not any(p.requires_grad for p in model.resblocks.parameters())
    assert not model.positional_embedding.requires_grad
    assert all(p.requires_grad for p in model.text.parameters())
    model.train()
    assert not model.resblocks.training
    with pytest.raises(ValueError):
        MODELS.build(U.small_backbone(out_indices=(3, 12)))
    with pytest.raises(ValueError):
        MODELS.build(U.small_backbone(img_size=60))


def test_sentence_levels_are_text_eot_per_layer():
    """extras['sentence_levels'][k]: the text tower's EOT token after text
    layer out_indices[k], before ln_final (ASDA public code model.py
    367-374); words / sentence are unchanged by the option."""
    torch.manual_seed(0)
    model = MODELS.build(U.small_backbone(out_indices=(1, 4, 11))).eval()
    plain = MODELS.build(U.small_backbone(out_indices=(1, 4, 11),
                                          sentence_levels=False)).eval()
    plain.load_state_dict(model.state_dict())
    img = torch.randn(2, 3, U.IMG, U.IMG)
    texts = U.TEXTS[:2]
    with torch.no_grad():
        feats = model(img, texts)
        ref = plain(img, texts)
        assert 'sentence_levels' not in ref.extras
        torch.testing.assert_close(feats.words, ref.words)
        torch.testing.assert_close(feats.sentence, ref.sentence)
        ids, _ = model.tokenizer(texts)
        text = model.text
        x = text.token_embedding(ids) + text.positional_embedding
        eot = ids.argmax(-1)
        outs = []
        for block in text.transformer.resblocks:
            x = block(x, attn_mask=text.attn_mask)
            outs.append(x[torch.arange(2), eot])
    levels = feats.extras['sentence_levels']
    assert len(levels) == 3
    for level, layer in zip(levels, (1, 4, 11)):
        torch.testing.assert_close(level, outs[layer])
    with pytest.raises(ValueError, match='text transformer'):
        MODELS.build(U.small_backbone(
            model_cfg=dict(U.SMALL_CLIP, text_cfg=dict(
                U.SMALL_CLIP['text_cfg'], layers=4))))
