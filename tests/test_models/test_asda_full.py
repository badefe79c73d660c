"""The full-size ASDA model (CLIP ViT-B/16 at 416, 768/512 dims, N_c=32,
n=2) builds with random weights and runs one training step on the CPU."""
import pytest
import importlib.util
import os.path as osp

import torch

import mmris  # noqa: F401
from mmris.registry import MODELS
from mmris.utils import register_all_modules

pytestmark = pytest.mark.full_size  # paper-size models

register_all_modules()
_spec = importlib.util.spec_from_file_location(
    'asda_test_utils', osp.join(osp.dirname(__file__), 'asda_test_utils.py'))
U = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(U)


def test_full_size_training_step():
    torch.manual_seed(0)
    model = MODELS.build(
        dict(
            type='RefSegmentor',
            backbone=dict(
                type='CLIPViT',
                model_name='ViT-B-16',
                pretrained=None,
                img_size=416,
                context_length=17,
                out_indices=(3, 4, 5, 6, 7, 8, 11),
                project_sentence=False,
                sentence_levels=True),
            neck=dict(
                type='ASDANeck',
                in_channels=768,
                text_dims=512,
                out_channels=512,
                low_candidates=(0, 1, 2),
                mid_candidates=(3, 4, 5),
                high_index=6,
                selection='straight_through'),
            decode_head=dict(
                type='WGDAHead',
                in_channels=512,
                word_dims=512,
                num_prototypes=32,
                num_layers=2,
                num_heads=8,
                ffn_dims=512,
                loss_decode=[
                    dict(type='MaskFocalLoss'),
                    dict(type='MaskDiceLoss')
                ]))).train()
    assert model.backbone.positional_embedding.shape == (677, 768)
    assert model.backbone.text.positional_embedding.shape == (17, 512)
    # one sample keeps the step affordable on a CPU (the 208x208 decoder is
    # most of the cost); SafeBatchNorm1d handles the batch of one
    images = torch.randn(1, 3, 416, 416)
    samples = U.samples(['the man on the left'], 416)
    optim = torch.optim.SGD(model.parameters(), lr=1e-3)
    before = model.neck.afs.selectors[0].weight.detach().clone()
    losses = model.loss(images, samples)
    total = losses['loss_focal'] + losses['loss_dice']
    assert torch.isfinite(total)
    optim.zero_grad()
    total.backward()
    # every parameter takes part (DDP needs no find_unused_parameters)
    unused = [n for n, p in model.named_parameters() if p.grad is None]
    assert not unused, unused
    optim.step()
    assert not torch.equal(before, model.neck.afs.selectors[0].weight)
    with torch.no_grad():
        feats = model.extract_feat(images[:1],
                                   [dict(text='the man on the left')])
        assert feats.visual[0].shape == (1, 512, 26, 26)
        out = model.decode_head.forward_branches(feats)
    assert out['logits'].shape == (1, 1, 208, 208)
    assert out['prototypes'].shape == (1, 32, 208, 208)
