"""The RISCLIP configs (configs/risclip): recipe, stages, datasets, ablations.

- every config loads; the stage-1 configs hold App. A.1 / Table A1's recipe
  and the batch of their name (32 per dataset, 96 / 56 on the family);
- every stage-2 config is its stage-1 config with the decoder as the only
  trained part, FP32, 1 epoch, and ``load_from`` = stage 1's final
  checkpoint;
- the Table 3-5 configs differ from the ablation base exactly in the fields
  that configs/risclip/README.md documents, and their models (built on the
  meta device at full size) differ in parameters accordingly;
- metafile.yaml lists every main config.
"""
import glob
import os.path as osp
import re

import pytest
import torch
import yaml
from mmengine.config import Config

from e2e_utils import REPO
from mmris.registry import MODELS
from mmris.utils import register_all_modules

register_all_modules()
DIR = osp.join(REPO, 'configs', 'risclip')
ABL = osp.join(DIR, 'ablations')
ABL_BASE = 'risclip-b_stage1_4xb8-50e_refcocog-umd-240x240.py'
MAIN = sorted(osp.basename(p) for p in glob.glob(osp.join(DIR, '*.py')))
ABLATIONS = sorted(osp.basename(p) for p in glob.glob(osp.join(ABL, '*.py')))
NAME = re.compile(r'risclip-(?P<size>[bl])_stage(?P<stage>[12])_(?P<gpus>\d+)'
                  r'xb(?P<per>\d+)-(?P<epochs>\d+)e_(?P<data>[a-z+-]+)-'
                  r'(?P<res>\d+)x(?P=res)')

DATA = {
    'refcoco': ('refcoco', 'unc', ['val', 'testA', 'testB']),
    'refcoco+': ('refcoco+', 'unc', ['val', 'testA', 'testB']),
    'refcocog-umd': ('refcocog', 'umd', ['val', 'test']),
}


def _load(path):
    return Config.fromfile(path)


def _flat(d, prefix=''):
    out = {}
    for key, value in d.items():
        if isinstance(value, dict):
            out.update(_flat(value, f'{prefix}{key}.'))
        else:
            out[f'{prefix}{key}'] = value
    return out


def test_every_config_is_there():
    assert len(MAIN) == 16 and len(ABLATIONS) == 28
    for size, res in (('b', 640), ('l', 560)):
        for data in ('refcoco', 'refcoco+', 'refcocog-umd'):
            for stage, epochs in ((1, 60), (2, 1)):
                assert (f'risclip-{size}_stage{stage}_4xb8-{epochs}e_{data}-'
                        f'{res}x{res}.py') in MAIN


@pytest.mark.parametrize('name', [n for n in MAIN if 'stage1' in n])
def test_stage1_recipe(name):
    m = NAME.match(name).groupdict()
    cfg = _load(osp.join(DIR, name))
    res = int(m['res'])
    batch = int(m['gpus']) * int(m['per'])
    family = m['data'] == 'refcoco-family'
    assert batch == ({'b': 96, 'l': 56}[m['size']] if family else 32)
    assert cfg.train_dataloader.batch_size == int(m['per'])
    bb = cfg.model.backbone
    assert (bb.model_name, res) == {
        'b': ('ViT-B-16-plus-240', 640),
        'l': ('ViT-L-14-336-quickgelu', 560)}[m['size']]
    assert tuple(bb.img_size) == (res, res)
    assert tuple(cfg.model.data_preprocessor.size) == (res, res)
    assert bb.freeze_clip and bb.num_cfe == 6 and bb.adapter_layers is None
    assert bb.adapter_scale_init == 0.6 and bb.cfe_scale_init == 0.5
    assert cfg.model.neck.num_layers == 6 and cfg.model.neck.num_heads == 8
    assert cfg.model.decode_head.stage == 'locator'
    assert cfg.model.decode_head.target_downsample == 'area'
    assert tuple(cfg.model.trainable) == ('backbone', 'neck')
    losses = {l['type']: l for l in cfg.model.decode_head.loss_decode}
    assert losses['MaskDiceLoss']['loss_weight'] == 1.0
    assert (losses['MaskFocalLoss']['loss_weight'], losses['MaskFocalLoss']
            ['alpha'], losses['MaskFocalLoss']['gamma']) == (1.75, 0.65, 2.0)
    opt = cfg.optim_wrapper
    assert opt.type == 'AutoAmpOptimWrapper' and opt.dtype == 'bfloat16'
    assert opt.paramwise_cfg is not None
    assert (opt.optimizer.type, opt.optimizer.lr,
            opt.optimizer.weight_decay) == ('AdamW', 5e-5, 5e-3)
    assert cfg.train_cfg.max_epochs == 60 == int(m['epochs'])
    sched = cfg.param_scheduler[0]
    assert sched.type == 'PolyLR' and sched.power == 0.9 and sched.end == 60
    # the pipelines resize to the model's input; no flip (App. A.1)
    datasets = (cfg.train_dataloader.dataset.datasets
                if family else [cfg.train_dataloader.dataset])
    for ds in datasets:
        types = [t['type'] for t in ds.pipeline]
        assert 'RandomFlipText' not in types
        # letterbox + affine in one warp, then the saturation jitter
        assert 'RandomAffineLetterbox' in types and 'RandomHSV' in types
        assert types.index('RandomHSV') > types.index('RandomAffineLetterbox')
        lb = [t for t in ds.pipeline
              if t['type'] == 'RandomAffineLetterbox'][0]
        assert tuple(lb['scale']) == (res, res) and lb['flip_prob'] == 0
    test_sets = (cfg.test_dataloader.dataset.datasets
                 if family else [cfg.test_dataloader.dataset])
    for ds in test_sets:
        lb = [t for t in ds.pipeline if t['type'] == 'LetterboxResize'][0]
        assert tuple(lb['scale']) == (res, res)
    if family:
        assert {(d.dataset, d.split_by) for d in datasets} == {
            ('refcoco', 'unc'), ('refcoco+', 'unc'), ('refcocog', 'umd')}
    else:
        ds = cfg.test_dataloader.dataset
        assert (ds.dataset, ds.split_by, list(ds.split)) == DATA[m['data']]


def _stage1_of(stage2_path):
    cfg = _load(stage2_path)
    base = osp.basename(cfg.load_from).split('/')[-1]
    work = cfg.load_from.split('/')[-2]
    return cfg, work, base


@pytest.mark.parametrize('name', [n for n in MAIN if 'stage2' in n] +
                         ['ablations/' + n for n in ABLATIONS
                          if 'stage2' in n])
def test_stage2_is_stage1_with_the_decoder_trained(name):
    path = osp.join(DIR, name)
    cfg2, work, final = _stage1_of(path)
    stage1 = osp.join(osp.dirname(path), work + '.py')
    assert osp.isfile(stage1), stage1
    cfg1 = _load(stage1)
    assert final == f'epoch_{cfg1.train_cfg.max_epochs}.pth'
    assert cfg2.load_from == f'work_dirs/{work}/{final}'
    assert tuple(cfg2.model.trainable) == ('decode_head.decoder', )
    assert cfg2.model.decode_head.stage == 'refiner'
    assert cfg2.optim_wrapper.type == 'OptimWrapper'  # FP32 (Table A1)
    assert cfg2.optim_wrapper.paramwise_cfg is not None
    assert cfg2.train_cfg.max_epochs == 1
    assert cfg2.param_scheduler[0].end == 1
    m1, m2 = _flat(cfg1.model.to_dict()), _flat(cfg2.model.to_dict())
    diff = {k for k in set(m1) | set(m2) if m1.get(k) != m2.get(k)}
    assert diff == {'trainable', 'decode_head.stage'}
    assert cfg1.train_dataloader.to_dict() == cfg2.train_dataloader.to_dict()


#: ablation config -> (model fields that differ from the base, check)
EXPECTED = {
    'table3-plain': {'backbone.adapter_layers': 0, 'backbone.num_cfe': 0,
                     'neck.num_layers': 0},
    'table3-adapters': {'backbone.num_cfe': 0, 'neck.num_layers': 0},
    'table3-cfe': {'neck.num_layers': 0},
    'table3-finetuned': {'backbone.freeze_clip': False},
    'table4-mhsa-concat': {'backbone.fusion': 'mhsa_concat',
                           'neck.fusion': 'mhsa_concat'},
    'table4-mhca-concat': {'backbone.fusion': 'mhca_concat',
                           'neck.fusion': 'mhca_concat'},
    'table5-adapters3': {'backbone.adapter_layers': 3},
    'table5-adapters6': {'backbone.adapter_layers': 6},
    'table5-adapters9': {'backbone.adapter_layers': 9},
    'table5-cfe2': {'backbone.num_cfe': 2},
    'table5-cfe4': {'backbone.num_cfe': 4},
    'table5-ske2': {'neck.num_layers': 2},
    'table5-ske4': {'neck.num_layers': 4},
}

ADAPTER_PAIR = 805_056 * 2 + 411_200 * 2  # both towers, one layer, B
CFE = 5_252_352
SKE = 13_135_360
MHA_640 = 4 * 640 * 640 + 4 * 640


def _meta_build(cfg):
    import copy

    import open_clip
    cfg = copy.deepcopy(cfg)
    cfg.model.backbone.pretrained = None
    cfg.model.backbone.model_cfg = open_clip.get_model_config(
        cfg.model.backbone.model_name)
    with torch.device('meta'):
        return MODELS.build(cfg.model)


def _counts(model):
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return total, trainable


@pytest.fixture(scope='module')
def base_counts():
    cfg = _load(osp.join(ABL, ABL_BASE))
    assert cfg.train_cfg.max_epochs == 50
    assert tuple(cfg.model.backbone.img_size) == (240, 240)
    assert cfg.test_dataloader.dataset.dataset == 'refcocog'
    return cfg, _counts(_meta_build(cfg))


@pytest.mark.parametrize('tag', sorted(EXPECTED))
def test_ablation_differs_as_documented(tag, base_counts):
    base_cfg, (base_total, base_train) = base_counts
    cfg = _load(osp.join(ABL, ABL_BASE.replace('.py', f'_{tag}.py')))
    b, v = _flat(base_cfg.model.to_dict()), _flat(cfg.model.to_dict())
    diff = {k: v.get(k) for k in set(b) | set(v) if b.get(k) != v.get(k)}
    assert diff == EXPECTED[tag]
    rest = ('model', 'load_from')
    assert {k: x for k, x in base_cfg.to_dict().items() if k not in rest} == {
        k: x for k, x in cfg.to_dict().items() if k not in rest}
    total, trainable = _counts(_meta_build(cfg))
    decoder = 27_106_689
    if tag == 'table3-plain':
        assert trainable == 2  # the grounding scale and bias
        assert base_total - total == 12 * ADAPTER_PAIR + 23 + 6 * CFE + \
            6 * SKE
    elif tag == 'table3-adapters':
        assert base_total - total == 6 * CFE + 6 * SKE
    elif tag == 'table3-cfe':
        assert base_total - total == 6 * SKE
    elif tag == 'table3-finetuned':
        assert total == base_total
        assert trainable == total - decoder
    elif tag.startswith('table4'):
        # one joint attention instead of two per CFE / SKE: 12 fewer MHAs
        expect = 12 * MHA_640 if 'mhsa' in tag else 0
        assert base_total - total == expect
    elif tag.startswith('table5-adapters'):
        n = int(tag[-1])
        # adapters and temperatures in the last n layers (n - 1 image
        # temperatures: the MaskCLIP layer has none)
        assert base_total - total == (12 - n) * (ADAPTER_PAIR + 2)
    elif tag.startswith('table5-cfe'):
        assert base_total - total == (6 - int(tag[-1])) * CFE
    else:
        assert base_total - total == (6 - int(tag[-1])) * SKE
    if tag != 'table3-finetuned':
        assert base_train - trainable == base_total - total


def test_metafile_lists_every_main_config():
    meta = yaml.safe_load(open(osp.join(DIR, 'metafile.yaml')))
    listed = {osp.basename(m['Config']) for m in meta['Models']}
    assert listed >= set(MAIN)
    for model in meta['Models']:
        assert osp.isfile(osp.join(REPO, model['Config'])), model['Config']
