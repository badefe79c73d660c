"""GroupedOptimWrapperConstructor: a handful of groups, the same updates."""
import copy
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from beit3_test_utils import make_tiny_spm
from mmris.engine.optimizers import merge_groups
from mmris.registry import MODELS, PARAM_SCHEDULERS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


class _Net(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(
            nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Conv2d(8, 8, 1))
        self.neck = nn.Linear(8, 8)
        self.head = nn.Linear(8, 2)
        self.pos_embed = nn.Parameter(torch.randn(4, 8))
        self.frozen = nn.Linear(8, 8)
        self.frozen.requires_grad_(False)

    def forward(self, x):
        x = self.backbone(x).mean((2, 3))
        x = self.neck(x + self.pos_embed.mean(0)) + self.frozen(x)
        return self.head(x)


PARAMWISE = dict(
    norm_decay_mult=0.0,
    bias_lr_mult=2.0,
    custom_keys={
        'backbone': dict(lr_mult=0.1, decay_mult=0.5),
        'pos_embed': dict(lr_mult=1.0, decay_mult=0.0),
        'neck': dict(lr_mult=0.5),
    })


def _wrapper(model, constructor, optimizer):
    cfg = dict(type='OptimWrapper', optimizer=optimizer,
               paramwise_cfg=copy.deepcopy(PARAMWISE))
    if constructor:
        cfg['constructor'] = constructor
    init_default_scope('mmris')
    return build_optim_wrapper(model, cfg)


@pytest.mark.parametrize('optimizer', [
    dict(type='AdamW', lr=1e-2, weight_decay=0.1),
    dict(type='SGD', lr=1e-2, momentum=0.9, weight_decay=0.1),
])
def test_same_update_as_per_tensor_groups(optimizer):
    torch.manual_seed(0)
    model_a = _Net()
    model_b = copy.deepcopy(model_a)
    per_tensor = _wrapper(model_a, None, optimizer)
    grouped = _wrapper(model_b, 'GroupedOptimWrapperConstructor', optimizer)
    # 11 trainable tensors (the frozen Linear is left out) with five
    # settings: backbone (custom key, which wins over bias_lr_mult and
    # norm_decay_mult), pos_embed, neck, head weight (the optimizer's
    # defaults), head bias (bias_lr_mult)
    assert len(per_tensor.optimizer.param_groups) == 11
    groups = grouped.optimizer.param_groups
    settings = sorted((round(g['lr'], 9), round(g['weight_decay'], 9),
                       len(g['params'])) for g in groups)
    assert settings == sorted([(1e-3, 0.05, 6), (1e-2, 0.0, 1),
                               (5e-3, 0.1, 2), (1e-2, 0.1, 1),
                               (2e-2, 0.1, 1)])
    frozen = {id(p) for p in model_b.frozen.parameters()}
    assert not frozen & {id(p) for g in groups for p in g['params']}
    x = torch.randn(2, 3, 8, 8)
    for _ in range(2):
        for model, wrapper in ((model_a, per_tensor), (model_b, grouped)):
            wrapper.update_params(model(x).square().mean())
    for (name, a), b in zip(model_a.named_parameters(), model_b.parameters()):
        assert torch.equal(a, b), name


def test_scheduler_scales_every_group():
    model = _Net()
    grouped = _wrapper(model, 'GroupedOptimWrapperConstructor',
                       dict(type='Adam', lr=1e-2, weight_decay=1e-4))
    init_default_scope('mmris')
    scheduler = PARAM_SCHEDULERS.build(
        dict(type='MultiStepLR', milestones=[2], gamma=0.1, by_epoch=False,
             optimizer=grouped))
    initial = [g['lr'] for g in grouped.optimizer.param_groups]
    assert [g['initial_lr'] for g in grouped.optimizer.param_groups
            ] == initial
    for _ in range(2):
        grouped.step()
        scheduler.step()
    lrs = [g['lr'] for g in grouped.optimizer.param_groups]
    assert lrs == pytest.approx([0.1 * lr for lr in initial])
    assert len(set(initial)) == 4  # several learning rates


def test_merge_groups_keeps_order_and_drops_duplicates():
    a, b, c = (nn.Parameter(torch.zeros(1)) for _ in range(3))
    groups = merge_groups([
        dict(params=[a], lr=1.0, betas=[0.9, 0.99]),
        dict(params=[b], lr=2.0),
        dict(params=[c, a], lr=1.0, betas=(0.9, 0.99)),
    ])
    assert [(g['lr'], [id(p) for p in g['params']]) for g in groups] == [
        (1.0, [id(a), id(c)]), (2.0, [id(b)])
    ]


def _meta_build(cfg):
    with torch.device('meta'):
        return MODELS.build(cfg.model)


def _full_size_groups(path, meta=False, **backbone):
    init_default_scope('mmris')
    cfg = Config.fromfile(osp.join(REPO, 'configs', path))
    cfg.model.backbone.pretrained = None
    cfg.model.backbone.update(backbone)
    if path.startswith('risclip'):
        import open_clip
        cfg.model.backbone.model_cfg = open_clip.get_model_config(
            cfg.model.backbone.model_name)
    model = _meta_build(cfg) if meta else MODELS.build(cfg.model)
    grouped = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
    per_tensor_cfg = copy.deepcopy(cfg.optim_wrapper)
    assert per_tensor_cfg.pop('constructor') == \
        'GroupedOptimWrapperConstructor'
    per_tensor = build_optim_wrapper(model, per_tensor_cfg)
    lr_of = {}
    for group in per_tensor.optimizer.param_groups:
        for p in group['params']:
            lr_of[id(p)] = group.get('lr', per_tensor.optimizer.defaults['lr'])
    trainable = [p for p in model.parameters() if p.requires_grad]
    for group in grouped.optimizer.param_groups:
        for p in group['params']:
            assert lr_of.get(id(p), group['lr']) == group['lr']
    assert sum(len(g['params']) for g in grouped.optimizer.param_groups
               ) == len(trainable)
    return len(grouped.optimizer.param_groups), len(
        per_tensor.optimizer.param_groups)


@pytest.mark.full_size
def test_full_size_group_counts(tmp_path):
    """A handful of groups for every method's full-size config."""
    assert _full_size_groups('cris/cris_r50_8xb8-50e_refcoco-416x416.py') \
        == (3, 448)
    grouped, per_tensor = _full_size_groups('asda/asda_vitb_refcoco.py')
    assert grouped == 2 and per_tensor > 300
    for name in ('risclip-b_stage1_4xb8-60e_refcoco-640x640.py',
                 'risclip-b_stage2_4xb8-1e_refcoco-640x640.py'):
        grouped, per_tensor = _full_size_groups(
            'risclip/' + name, meta=True)
        assert grouped == 1 and per_tensor > 20, name
    grouped, per_tensor = _full_size_groups(
        'shared_ris/shared-ris_beit3-b_8xb14-35e_refcoco-480x480.py',
        spm_path=make_tiny_spm(str(tmp_path)))
    assert grouped == 1
