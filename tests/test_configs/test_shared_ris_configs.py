"""The Shared-RIS configs (configs/shared_ris/): recipe, build, one step.

Every main config is checked against the paper's recipe (S Sec. IV-A);
every ablation config is built with a reduced BEiT-3 (the neck / head
composition of the full config, checked through the declared specs); the
base RefCOCO config runs one real training step at 480x480 on CPU with its
own pipeline, optimizer wrapper and scheduler, and the large model is built
at full size. The tokenizer reads a small sentencepiece model trained on the
fly (the real beit3.spm is a download).
"""
import copy
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from beit3_test_utils import (TINY_ARCH, TINY_TEXT_POS, TINY_VOCAB,
                              make_tiny_spm)
from mmris.registry import DATASETS, MODELS, PARAM_SCHEDULERS
from mmris.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG_DIR = osp.join(REPO, 'configs', 'shared_ris')
MAIN = sorted(glob.glob(osp.join(CFG_DIR, 'shared-ris_beit3-*.py')))
ABLATIONS = sorted(glob.glob(osp.join(CFG_DIR, 'ablations', '*.py')))
EXPECTED = {
    # dataset suffix: (dataset or None for the family, split_by, eval splits)
    'refcoco': ('refcoco', 'unc', ['val', 'testA', 'testB']),
    'refcoco+': ('refcoco+', 'unc', ['val', 'testA', 'testB']),
    'refcocog-umd': ('refcocog', 'umd', ['val', 'test']),
    'refcocog-google': ('refcocog', 'google', ['val']),
    'refcoco-family': (None, None, None),
}
#: ablation name -> (neck type or None, decoder layers, taps)
ABLATION_EXPECTED = {
    'table3-encoder-only': (None, 0, (2, 5, 8, 11)),
    'table3-fpn-only': ('SharedFPN', 0, (2, 5, 8, 11)),
    'table3-decoder-only': (None, 1, (2, 5, 8, 11)),
    'table4-cris-fpn': ('CRISNeck', 1, (3, 7, 11)),
    'table7-stages-6-12': ('SharedFPN', 1, (5, 11)),
    'table7-stages-4-8-12': ('SharedFPN', 1, (3, 7, 11)),
    'table8-layers-2': ('SharedFPN', 2, (2, 5, 8, 11)),
    'table8-layers-3': ('SharedFPN', 3, (2, 5, 8, 11)),
    'table7-fpn-cross-attention': ('SharedFPN', 1, (2, 5, 8, 11)),
    'table7-fpn-bidirectional': ('SharedFPN', 1, (2, 5, 8, 11)),
    'table8-decoder-cross-attention': ('SharedFPN', 1, (2, 5, 8, 11)),
    'table8-decoder-bidirectional': ('SharedFPN', 1, (2, 5, 8, 11)),
}

register_all_modules(init_default_scope=False)


@pytest.fixture(scope='module')
def spm_path(tmp_path_factory):
    return make_tiny_spm(str(tmp_path_factory.mktemp('spm')))


def _variant(path):
    name = osp.basename(path)[:-len('-480x480.py')]
    arch = name.split('_')[1].split('-')[1]
    return arch, name.split('_8xb14-35e_')[1]


def test_all_configs_exist():
    assert {_variant(p)
            for p in MAIN} == ({('b', ds)
                                for ds in EXPECTED if ds != 'refcoco-family'}
                               | {('l', ds)
                                  for ds in EXPECTED})
    names = {
        osp.basename(p)[len('shared-ris_beit3-b_refcoco+_'):-3]
        for p in ABLATIONS
    }
    assert names == set(ABLATION_EXPECTED)


@pytest.mark.parametrize('path', MAIN, ids=osp.basename)
def test_recipe(path):
    arch, variant = _variant(path)
    cfg = Config.fromfile(path)
    model = cfg.model
    bb = model.backbone
    assert bb.type == 'BEiT3' and bb.arch == {'b': 'base', 'l': 'large'}[arch]
    assert bb.img_size == 480 and bb.context_length == 20
    assert bb.drop_path_rate == 0.1
    assert tuple(bb.out_indices) == {
        'b': (2, 5, 8, 11),
        'l': (5, 11, 17, 23)
    }[arch]
    assert bb.pretrained.endswith(f'beit3_{bb.arch}_patch16_224.pth'
                                  ) and bb.spm_path.endswith('beit3.spm')
    assert model.neck.type == 'SharedFPN' and model.neck.embed_dims == 512
    assert model.neck.num_heads == 8
    head = model.decode_head
    assert head.type == 'SharedMaskDecoder' and head.embed_dims == 512
    assert (head.num_layers, head.num_heads, head.num_upsamples) == (1, 8, 2)
    assert [(l.type, l.loss_weight)
            for l in head.loss_decode] == [('MaskBCELoss', 2.0),
                                           ('MaskDiceLoss', 0.5)]
    assert model.test_cfg.threshold == 0.35
    pre = model.data_preprocessor
    assert tuple(pre.size) == (480, 480) and pre.bgr_to_rgb
    assert pre.mean == [127.5] * 3 and pre.std == [127.5] * 3
    # data: 480 letterbox padded with the mean, batch 14 per GPU
    train = cfg.train_dataloader
    assert train.batch_size == 14
    subsets = (train.dataset.datasets
               if train.dataset.type == 'ConcatDataset' else [train.dataset])
    tests = (cfg.test_dataloader.dataset.datasets
             if cfg.test_dataloader.dataset.type == 'ConcatDataset' else
             [cfg.test_dataloader.dataset])
    for d in subsets + tests:
        [box] = [t for t in d.pipeline if t.type == 'LetterboxResize']
        assert tuple(box.scale) == (480, 480)
        assert tuple(box.pad_val) == (127.5, 127.5, 127.5)
    dataset, split_by, splits = EXPECTED[variant]
    if dataset is None:  # the combined family (S Tab. II / IX)
        assert {(d.dataset, d.split_by)
                for d in subsets} == {('refcoco', 'unc'), ('refcoco+', 'unc'),
                                      ('refcocog', 'umd')}
        assert all(d.exclude_images_of for d in subsets)
        assert len(tests) == 4
    else:
        assert (train.dataset.dataset, train.dataset.split_by,
                train.dataset.split) == (dataset, split_by, 'train')
        assert tests[0].dataset == dataset and tests[0].split == splits
    # schedule: AdamW (0.9, 0.98), wd 5e-4, lr 1e-4 cosine, clip 1.0, 35 ep
    optim = cfg.optim_wrapper
    assert optim.optimizer.type == 'AdamW'
    assert tuple(optim.optimizer.betas) == (0.9, 0.98)
    assert optim.optimizer.weight_decay == 5e-4
    assert optim.optimizer.lr == 1e-4
    assert optim.clip_grad.max_norm == 1.0
    assert 'paramwise_cfg' not in optim  # one lr for everything
    [sched] = cfg.param_scheduler
    assert sched.type == 'CosineAnnealingLR' and sched.T_max == 35
    assert cfg.train_cfg.max_epochs == 35
    assert cfg.auto_scale_lr.base_batch_size == 112


def _reduced(cfg, img_size=64):
    """The config's model with a reduced BEiT-3 at ``img_size``."""
    model = copy.deepcopy(cfg.model)
    taps = tuple(model.backbone.out_indices)
    model.backbone.update(arch=dict(TINY_ARCH, num_layers=12),
                          img_size=img_size,
                          pretrained=None,
                          vocab_size=TINY_VOCAB,
                          max_text_positions=TINY_TEXT_POS)
    model.backbone.out_indices = taps
    model.data_preprocessor.size = (img_size, img_size)
    for key in ('neck', 'decode_head'):
        if model.get(key) and 'embed_dims' in model[key]:
            model[key].embed_dims = 16
            model[key].num_heads = 2
    return model


@pytest.mark.parametrize('path', ABLATIONS, ids=osp.basename)
def test_ablation_configs(path, spm_path):
    name = osp.basename(path)[len('shared-ris_beit3-b_refcoco+_'):-3]
    neck, layers, taps = ABLATION_EXPECTED[name]
    cfg = Config.fromfile(path)
    assert cfg.test_dataloader.dataset.dataset == 'refcoco+'
    assert cfg.test_dataloader.dataset.split == ['val']
    assert (cfg.model.get('neck') or {}).get('type') == neck
    assert cfg.model.decode_head.num_layers == layers
    assert tuple(cfg.model.backbone.out_indices) == taps
    fusion = name.split('-', 1)[1].replace('fpn-', '').replace(
        'decoder-', '')
    fusion = {'cross-attention': 'cross'}.get(fusion, fusion)
    if name.startswith('table7-fpn'):
        assert cfg.model.neck.fusion == fusion
    elif name.startswith('table8-decoder'):
        assert cfg.model.decode_head.fusion == fusion
    else:
        assert 'fusion' not in cfg.model.decode_head
    init_default_scope('mmris')
    model_cfg = _reduced(cfg)
    model_cfg.backbone.context_length = 8
    model_cfg.backbone.spm_path = spm_path
    model = MODELS.build(model_cfg)
    from mmris.testing.mixing_matrix import make_batch
    batch = make_batch(batch_size=2, img_size=64)
    log = model.train_step(
        batch,
        build_optim_wrapper(model, dict(optimizer=dict(type='SGD', lr=0.1))))
    assert torch.isfinite(log['loss'])


@pytest.mark.full_size
def test_full_size_large_builds():
    cfg = Config.fromfile(
        osp.join(CFG_DIR, 'shared-ris_beit3-l_8xb14-35e_refcoco-480x480.py'))
    cfg.model.backbone.pretrained = None
    init_default_scope('mmris')
    model = MODELS.build(cfg.model)
    n = sum(p.numel() for p in model.backbone.parameters())
    # the official large model at 480 (its mask token is a buffer here)
    assert n + 1024 == 673_423_360
    assert model.neck.in_channels == (1024, ) * 4
    assert model.decode_head.in_channels == 512


@pytest.mark.full_size
def test_full_size_base_one_training_step(refer_data_root, spm_path):
    path = osp.join(CFG_DIR, 'shared-ris_beit3-b_8xb14-35e_refcoco-480x480.py')
    cfg = Config.fromfile(path)
    init_default_scope('mmris')
    cfg.model.backbone.pretrained = None
    cfg.model.backbone.spm_path = spm_path
    model = MODELS.build(cfg.model)
    model.train()
    data_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    data_cfg.data_root = refer_data_root
    dataset = DATASETS.build(data_cfg)
    batch = pseudo_collate([dataset[0]])
    assert batch['inputs'][0].shape[-2:] == (480, 480)
    optim_wrapper = build_optim_wrapper(model,
                                        copy.deepcopy(cfg.optim_wrapper))
    assert optim_wrapper.clip_grad_kwargs['max_norm'] == 1.0
    groups = optim_wrapper.optimizer.param_groups
    assert all(g['lr'] == 1e-4 and g['betas'] == (0.9, 0.98) for g in groups)
    scheduler = PARAM_SCHEDULERS.build(
        dict(cfg.param_scheduler[0], optimizer=optim_wrapper, epoch_length=10))
    prefixes = ('backbone.encoder.layers.0.ffn.A',
                'backbone.encoder.layers.11.ffn.B', 'neck.', 'decode_head.')
    # copies of the checked parameters only (memory: < 6 GiB in all)
    before = {
        n: p.detach().clone()
        for n, p in model.named_parameters() if n.startswith(prefixes)
    }
    emb = model.backbone.text_embed.weight
    emb_before = emb[:8].detach().clone()
    log_vars = model.train_step(batch, optim_wrapper)
    assert torch.isfinite(log_vars['loss'])
    assert set(log_vars) >= {'loss_bce', 'loss_dice'}
    changed = {
        n
        for n, p in model.named_parameters()
        if n in before and not torch.equal(before[n], p.detach())
    }
    assert not torch.equal(emb_before, emb[:8].detach())
    for prefix in prefixes:
        assert any(n.startswith(prefix) for n in changed), prefix
    for _ in range(10 * 35 // 2):
        scheduler.step()
    assert groups[0]['lr'] == pytest.approx(0.5e-4, rel=1e-3)
