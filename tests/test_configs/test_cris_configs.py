"""The CRIS paper configs (configs/cris/): recipe, build, one training step.

Every full-size config builds with random weights (``pretrained=None``); the
ResNet-50 and ResNet-101 RefCOCO configs each run one real training step on
CPU at 416x416 (batch 2) with their own data pipeline (on the session's
generated REFER data), optimizer wrapper constructor (backbone at 0.1x,
positional embeddings at 1x) and scheduler. The model-level checks
(parameter count, shapes) are in tests/test_models/test_cris_*.py. AMP
runs on a GPU; on a CPU the configs' ``AutoAmpOptimWrapper`` is a float32
``OptimWrapper``, so the step uses the config's optimizer wrapper as is.
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

from mmris.registry import DATASETS, MODELS, PARAM_SCHEDULERS
from mmris.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CRIS_DIR = osp.join(REPO, 'configs', 'cris')
FULL_CONFIGS = sorted(
    glob.glob(osp.join(CRIS_DIR, 'cris_r*_8xb8-50e_*-416x416.py')))
CLIP_MEAN_BGR = (104.09, 116.75, 122.77)
EXPECTED = {
    # dataset suffix: (dataset, split_by, context length, eval splits)
    'refcoco': ('refcoco', 'unc', 17, ['val', 'testA', 'testB']),
    'refcoco+': ('refcoco+', 'unc', 17, ['val', 'testA', 'testB']),
    'refcocog-umd': ('refcocog', 'umd', 22, ['val', 'test']),
    'refcocog-google': ('refcocog', 'google', 22, ['val']),
}

register_all_modules(init_default_scope=False)


def _as_list(split):
    return [split] if isinstance(split, str) else list(split)


def _eval_datasets(dataset_cfg):
    """The REFER datasets of a test set: one dataset with a list of splits
    or a ConcatDataset of one dataset per split."""
    if dataset_cfg.type == 'ConcatDataset':
        return [d for sub in dataset_cfg.datasets
                for d in _eval_datasets(sub)]
    return [dataset_cfg]


def _variant(path):
    name = osp.basename(path)
    arch = name.split('_')[1]
    dataset = name.split('_8xb8-50e_')[1][:-len('-416x416.py')]
    return arch, dataset


def test_all_eight_configs_exist():
    variants = {_variant(p) for p in FULL_CONFIGS}
    assert variants == {(arch, ds)
                        for arch in ('r50', 'r101') for ds in EXPECTED}


@pytest.mark.parametrize('path', FULL_CONFIGS, ids=osp.basename)
def test_recipe(path):
    arch, variant = _variant(path)
    dataset, split_by, length, eval_splits = EXPECTED[variant]
    cfg = Config.fromfile(path)
    model = cfg.model
    # model: CLIP RN50 / RN101, text length of the paper, local weights
    assert model.backbone.type == 'CLIPResNet'
    assert model.backbone.model_name == {'r50': 'RN50', 'r101': 'RN101'}[arch]
    assert model.backbone.context_length == length
    assert model.backbone.pretrained.endswith(
        {'r50': 'RN50.pt', 'r101': 'RN101.pt'}[arch])
    assert model.neck.in_channels[-1] == model.neck.sentence_dims == \
        model.decode_head.sentence_dims == (1024 if arch == 'r50' else 512)
    assert model.decode_head.num_layers == 3
    assert model.decode_head.num_heads == 8
    assert model.decode_head.ffn_dims == 2048
    assert model.test_cfg.threshold == 0.35
    pre = model.data_preprocessor
    assert pre.bgr_to_rgb and tuple(pre.size) == (416, 416)
    assert pre.mean == pytest.approx([122.77, 116.75, 104.09], abs=0.01)
    assert pre.std == pytest.approx([68.50, 66.63, 70.32], abs=0.01)
    # data: letterbox 416 padded with the CLIP mean; one random sentence per
    # ref for training, every sentence for evaluation
    train = cfg.train_dataloader
    assert train.batch_size == 8
    assert (train.dataset.dataset, train.dataset.split_by,
            train.dataset.split) == (dataset, split_by, 'train')
    assert train.dataset.sample_unit == 'ref'
    tests = _eval_datasets(cfg.test_dataloader.dataset)
    for pipeline in (train.dataset.pipeline, tests[0].pipeline):
        letterbox = [t for t in pipeline if t.type == 'LetterboxResize']
        assert len(letterbox) == 1
        assert tuple(letterbox[0].scale) == (416, 416)
        assert letterbox[0].pad_val == pytest.approx(CLIP_MEAN_BGR)
    assert cfg.val_dataloader.dataset.sample_unit == 'sentence'
    assert cfg.val_dataloader.dataset.split == 'val'
    assert [s for d in tests for s in _as_list(d.split)] == eval_splits
    assert all(d.sample_unit == 'sentence' and d.test_mode for d in tests)
    assert all(d.dataset == dataset and d.split_by == split_by for d in tests)
    assert cfg.test_evaluator.type == 'RefSegMetric'
    # schedule: Adam 1e-4, backbone 0.1x (positional embeddings 1x), no
    # weight decay, x0.1 at epoch 35 of 50, AMP, batch 64, SyncBN
    optim = cfg.optim_wrapper
    assert optim.type == 'AutoAmpOptimWrapper'  # AMP on GPU, fp32 on CPU
    assert optim.optimizer.type == 'Adam'
    assert optim.optimizer.lr == 1e-4
    assert optim.optimizer.get('weight_decay', 0) == 0
    assert optim.paramwise_cfg.custom_keys['backbone'].lr_mult == 0.1
    assert optim.paramwise_cfg.custom_keys[
        'positional_embedding'].lr_mult == 1.0
    assert 'clip_grad' not in optim or optim.clip_grad is None
    [sched] = cfg.param_scheduler
    assert (sched.type, sched.milestones, sched.gamma) == ('MultiStepLR',
                                                           [35], 0.1)
    assert cfg.train_cfg.max_epochs == 50
    assert cfg.auto_scale_lr.base_batch_size == 64
    assert cfg.sync_bn == 'torch'


@pytest.mark.parametrize('path', FULL_CONFIGS, ids=osp.basename)
def test_full_size_model_builds(path):
    cfg = Config.fromfile(path)
    cfg.model.backbone.pretrained = None
    init_default_scope('mmris')
    model = MODELS.build(cfg.model)
    assert model.backbone.context_length == cfg.model.backbone.context_length
    assert model.neck.out_channels == 512


def _one_step(path, data_root):
    cfg = Config.fromfile(path)
    init_default_scope('mmris')
    cfg.model.backbone.pretrained = None
    model = MODELS.build(cfg.model)
    model.train()

    # the config's own training set and pipeline, on the generated data
    # at 416x416; batch 2, the smallest the neck's BatchNorm1d over the
    # sentence feature accepts in training (the public code's layout)
    data_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    data_cfg.data_root = data_root
    dataset = DATASETS.build(data_cfg)
    batch = pseudo_collate([dataset[0], dataset[1]])
    assert all(x.shape[-2:] == (416, 416) for x in batch['inputs'])

    # the config's optimizer wrapper with its paramwise lr multipliers
    # (AutoAmpOptimWrapper: AMP on a GPU, a float32 OptimWrapper on a CPU)
    optim_wrapper = build_optim_wrapper(model,
                                        copy.deepcopy(cfg.optim_wrapper))
    lrs = {}
    by_id = {id(p): n for n, p in model.named_parameters()}
    for group in optim_wrapper.optimizer.param_groups:
        for p in group['params']:
            lrs[by_id[id(p)]] = group['lr']
    assert len(lrs) == len(by_id)
    for name, lr in lrs.items():
        if 'positional_embedding' in name or not name.startswith('backbone'):
            assert lr == pytest.approx(1e-4), name
        else:
            assert lr == pytest.approx(1e-5), name
    assert lrs['backbone.text.positional_embedding'] == pytest.approx(1e-4)

    # the config's scheduler: x0.1 after epoch 35
    sched_cfg = dict(cfg.param_scheduler[0], optimizer=optim_wrapper)
    scheduler = PARAM_SCHEDULERS.build(sched_cfg)

    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    log_vars = model.train_step(batch, optim_wrapper)
    assert torch.isfinite(log_vars['loss'])
    changed = {
        n for n, p in model.named_parameters()
        if not torch.equal(before[n], p.detach())
    }
    for prefix in ('backbone.visual.', 'backbone.text.', 'neck.',
                   'decode_head.'):
        assert any(n.startswith(prefix) for n in changed), prefix
    for _ in range(35):
        scheduler.step()
    head_lr = max(g['lr'] for g in optim_wrapper.optimizer.param_groups)
    assert head_lr == pytest.approx(1e-5)


@pytest.mark.full_size
@pytest.mark.parametrize('arch', ['r50', 'r101'])
def test_full_size_one_training_step(arch, refer_data_root):
    _one_step(
        osp.join(CRIS_DIR, f'cris_{arch}_8xb8-50e_refcoco-416x416.py'),
        refer_data_root)
