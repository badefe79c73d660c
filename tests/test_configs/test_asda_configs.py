"""The ASDA configs (configs/asda): recipe, variants, ablations, one step.

- every config under ``configs/asda`` loads and its model builds at full
  size with random weights (``model.backbone.pretrained=None``);
- the main config holds the paper's recipe and the public code's training
  augmentation;
- the dataset variants differ from the main config only in the data (all
  use 17 tokens, as the public code does); the paper-reading variant
  differs in exactly its documented switches;
- the Table 2 configs (a)-(f) and the Tables 3-5 configs differ from the
  main one in exactly the fields that configs/asda/README.md documents, and
  the models they build differ accordingly (built one after the other and
  compared); in every Table 2 model each trainable parameter gets a
  gradient, so none needs DDP's ``find_unused_parameters``;
- the main config runs one training step at full size (416x416, ViT-B/16)
  on the CPU through its real training pipeline, data preprocessor and
  optimizer (paramwise lr), on generated REFER data;
- metafile.yaml covers every config and the README gives the converter
  command and the paper-reading switches.

The component behaviour (selection, gradients, masking) is tested in
tests/test_models/test_asda_*.py at reduced size.
"""
import gc
import glob
import os.path as osp
from typing import Any, Dict

import pytest
import torch

import mmris  # noqa: F401
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import AmpOptimWrapper, build_optim_wrapper
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from e2e_utils import REPO
from mmris.registry import DATASETS, MODELS
from mmris.utils import register_all_modules

register_all_modules()

ASDA = osp.join(REPO, 'configs', 'asda')
MAIN = 'asda_vitb_refcoco.py'

#: dataset configs -> (dataset, split_by, evaluated splits, text length)
DATASETS_OF = {
    'asda_vitb_refcoco.py': ('refcoco', 'unc', ['val', 'testA', 'testB'],
                             17),
    'asda_vitb_refcoco+.py': ('refcoco+', 'unc', ['val', 'testA', 'testB'],
                              17),
    'asda_vitb_refcocog-umd.py': ('refcocog', 'umd', ['val', 'test'], 17),
    'asda_vitb_refcocog-google.py': ('refcocog', 'google', ['val'], 17),
}
#: the paper-reading variant -> every field that differs from the main
#: config (configs/asda/README.md, "Public code and paper")
PAPER = 'asda_vitb-paper_refcoco.py'
PAPER_DIFF = {
    'model.neck.selection_text': 'sentence',
    'model.decode_head.norm_first': True,
    'model.decode_head.prototype_act': 'sigmoid',
    'model.decode_head.mask_padding': True,
    'model.decode_head.loss_decode.0.alpha': 0.25,
    'model.decode_head.loss_decode.0.gamma': 2.0,
}

_WORD_FREE = {
    'model.decode_head.dual_branch': False,
    'model.decode_head.use_words': False
}
#: Table 2 row -> every field that differs from the main config
#: (documented in configs/asda/README.md, "Ablation configs").
TABLE2 = {
    'a': {
        'model.neck.selection': 'none',
        'model.neck.use_sfa': False,
        **_WORD_FREE
    },
    'b': {
        'model.neck.selection': 'fixed',
        'model.neck.fixed_layers.0': 2,
        'model.neck.fixed_layers.1': 5,
        'model.neck.use_sfa': False,
        **_WORD_FREE
    },
    'c': {
        'model.neck.use_sfa': False,
        **_WORD_FREE
    },
    'd': dict(_WORD_FREE),
    'e': {
        'model.decode_head.dual_branch': False
    },
    'f': {},
}
#: Tables 3-5 configs -> every field that differs from the main config
TEN_EPOCHS = {'train_cfg.max_epochs': 10}
TABLES345 = {
    'asda_vitb_refcoco_10e.py': dict(TEN_EPOCHS),
    'asda_vitb_refcoco_10e_table3-n1.py': {
        **TEN_EPOCHS, 'model.decode_head.num_layers': 1
    },
    'asda_vitb_refcoco_10e_table3-n3.py': {
        **TEN_EPOCHS, 'model.decode_head.num_layers': 3
    },
    'asda_vitb_refcoco_10e_table3-n4.py': {
        **TEN_EPOCHS, 'model.decode_head.num_layers': 4
    },
    'asda_vitb_refcoco_10e_table4-nc16.py': {
        **TEN_EPOCHS, 'model.decode_head.num_prototypes': 16
    },
    'asda_vitb_refcoco_10e_table4-nc48.py': {
        **TEN_EPOCHS, 'model.decode_head.num_prototypes': 48
    },
    'asda_vitb_refcoco_10e_table4-nc64.py': {
        **TEN_EPOCHS, 'model.decode_head.num_prototypes': 64
    },
    'asda_vitb_refcoco_10e_table5-mlp.py': {
        **TEN_EPOCHS, 'model.neck.selector_type': 'mlp'
    },
    'asda_vitb_refcoco_10e_table5-conv.py': {
        **TEN_EPOCHS, 'model.neck.selector_type': 'conv'
    },
}
TABLE2_FILES = {
    row: f'ablations/asda_vitb_refcoco_table2-{row}.py'
    for row in TABLE2
}
ALL_CONFIGS = sorted(
    list(DATASETS_OF) + [PAPER] + list(TABLE2_FILES.values()) +
    [f'ablations/{name}' for name in TABLES345])


def _load(name: str) -> Config:
    return Config.fromfile(osp.join(ASDA, name))


def _flatten(obj: Any, prefix: str = '') -> Dict[str, Any]:
    """Nested dicts / lists of a config as ``{'a.b.0.c': value}``."""
    if isinstance(obj, dict):
        items = obj.items()
    elif isinstance(obj, (list, tuple)):
        items = ((str(i), v) for i, v in enumerate(obj))
    else:
        return {prefix: obj}
    out = {}
    for key, value in items:
        out.update(_flatten(value, f'{prefix}.{key}' if prefix else key))
    if not out and prefix:  # an empty dict / list is a value of its own
        out[prefix] = obj
    return out


def _diff(cfg: Config, ref: Config) -> Dict[str, Any]:
    """Fields of ``cfg`` that differ from ``ref`` (removed ones as
    ``'<removed>'``)."""
    a, b = _flatten(cfg.to_dict()), _flatten(ref.to_dict())
    diff = {k: v for k, v in a.items() if k not in b or b[k] != v}
    diff.update({k: '<removed>' for k in b if k not in a})
    return diff


def _build(cfg: Config, **backbone) -> torch.nn.Module:
    model_cfg = cfg.model.copy()
    model_cfg.backbone = dict(model_cfg.backbone, pretrained=None, **backbone)
    return MODELS.build(model_cfg)


def test_every_asda_config_is_covered():
    """The lists above name every config file of configs/asda."""
    found = sorted(
        osp.relpath(p, ASDA)
        for p in glob.glob(osp.join(ASDA, '**', '*.py'), recursive=True))
    assert found == ALL_CONFIGS


def test_main_config_recipe():
    """Sec. 4.2 recipe and the public code's augmentation."""
    cfg = _load(MAIN)
    model = cfg.model
    assert model.type == 'RefSegmentor'
    backbone = model.backbone
    assert backbone.type == 'CLIPViT'
    assert backbone.model_name == 'ViT-B-16-quickgelu'
    assert isinstance(backbone.pretrained, str)  # a local CLIP file
    assert tuple(backbone.img_size) == (416, 416)
    assert backbone.context_length == 17
    assert backbone.project_sentence is False
    assert backbone.sentence_levels is True  # per-layer text EOT (public)
    # paper layers 4-6 / 7-9 / 12 (0-based ids) -> neck positions
    ids = tuple(backbone.out_indices)
    assert ids == (3, 4, 5, 6, 7, 8, 11)
    neck = model.neck
    assert neck.type == 'ASDANeck'
    assert [ids[i] + 1 for i in neck.low_candidates] == [4, 5, 6]
    assert [ids[i] + 1 for i in neck.mid_candidates] == [7, 8, 9]
    assert ids[neck.high_index] + 1 == 12
    assert neck.selection == 'straight_through'
    assert neck.selector_type == 'linear' and neck.use_sfa
    # the public model's settings
    assert neck.selection_text == 'layer' and neck.fusion_channels == 768
    head = model.decode_head
    assert head.type == 'WGDAHead'
    assert head.num_prototypes == 32 and head.num_layers == 2
    assert head.dual_branch and not head.mask_padding
    assert head.prototype_act == 'relu' and not head.norm_first
    assert (head.ffn_dims, head.wcg_ffn_dims) == (512, 2048)
    assert head.feat_size == 416 // 16
    assert [loss.type for loss in head.loss_decode] == [
        'MaskFocalLoss', 'MaskDiceLoss'
    ]
    assert (head.loss_decode[0].alpha, head.loss_decode[0].gamma) == (-1, 0)
    assert model.test_cfg.threshold == 0.35
    assert tuple(model.data_preprocessor.size) == (416, 416)

    # optimizer: Adam 5e-5, both CLIP towers (the backbone) at lr / 10
    assert cfg.optim_wrapper.type == 'AutoAmpOptimWrapper'
    assert cfg.optim_wrapper.optimizer.type == 'Adam'
    assert cfg.optim_wrapper.optimizer.lr == 5e-5
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys == {
        'backbone': dict(lr_mult=0.1)
    }
    (sched, ) = cfg.param_scheduler
    assert sched.type == 'MultiStepLR' and sched.by_epoch
    assert list(sched.milestones) == [18, 25] and sched.gamma == 0.1
    assert cfg.train_cfg.max_epochs == 30
    # batch 28 = 2 GPUs x 14
    assert cfg.train_dataloader.batch_size == 14
    assert cfg.auto_scale_lr.base_batch_size == 28

    train = cfg.train_dataloader.dataset
    assert train.type == 'RefCOCODataset' and train.split == 'train'
    assert train.sample_unit == 'sentence'
    types = [t.type for t in train.pipeline]
    # flip, HSV, letterbox and affine in one warp (RandomAffineLetterbox)
    assert types == [
        'LoadRefImageFromFile', 'LoadRefMask', 'RandomAffineLetterbox',
        'PackRefSegInputs'
    ]
    aug = train.pipeline[2]
    assert tuple(aug.scale) == (416, 416)
    assert tuple(aug.pad_val) == tuple(cfg.pad_val)
    assert aug.flip_prob == 0.5 and tuple(aug.hsv_gains) == (0.0, 0.0, 0.5)
    assert (aug.max_rotate_degree, aug.max_translate_ratio,
            tuple(aug.scaling_ratio_range),
            aug.max_shear_degree) == (5.0, 0.1, (0.9, 1.1), 2.0)
    # every sentence is evaluated, val/testA/testB in one test run
    assert cfg.val_dataloader.dataset.sample_unit == 'sentence'
    assert list(cfg.test_dataloader.dataset.split) == ['val', 'testA', 'testB']
    assert cfg.test_dataloader.dataset.sample_unit == 'sentence'


@pytest.mark.parametrize('name', sorted(DATASETS_OF))
def test_dataset_variants(name):
    """Same model, recipe and augmentation; other data and text length."""
    dataset, split_by, splits, length = DATASETS_OF[name]
    cfg, main = _load(name), _load(MAIN)
    assert cfg.model.backbone.context_length == length
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        assert (loader.dataset.dataset, loader.dataset.split_by) == (dataset,
                                                                     split_by)
    assert cfg.train_dataloader.dataset.split == 'train'
    assert cfg.val_dataloader.dataset.split == 'val'
    test_set = cfg.test_dataloader.dataset
    assert (test_set.dataset, test_set.split_by,
            list(test_set.split)) == (dataset, split_by, list(splits))
    # nothing but the data and the text length differs from the main config
    diff = _diff(cfg, main)
    allowed = {'model.backbone.context_length', 'dataset', 'split_by',
               'eval_splits'}
    for key in diff:
        if key in allowed or key.startswith(
            ('eval_splits.', 'test_dataloader.dataset.split')):
            continue
        assert key in {f'{loader}.dataset.{field}'
                       for loader in ('train_dataloader', 'val_dataloader',
                                      'test_dataloader')
                       for field in ('dataset', 'split_by')}, (key, diff[key])
    # the same test set but for the data
    ref = dict(main.test_dataloader.dataset)
    ref.update(dataset=dataset, split_by=split_by, split=test_set.split)
    assert dict(test_set) == ref
    assert _flatten(cfg.train_dataloader.dataset.pipeline) == _flatten(
        main.train_dataloader.dataset.pipeline)


@pytest.mark.parametrize('name', ALL_CONFIGS)
def test_config_builds(name):
    """Every ASDA config builds at full size with random weights (and the
    Tables 3-5 settings are in the built model)."""
    cfg = _load(name)
    model = _build(cfg)
    assert model.backbone.grid_size == (26, 26)
    assert model.backbone.text.context_length == 17
    # the Tables 3-5 values reach the built model
    head, neck = model.decode_head, model.neck
    expected = {**TABLES345.get(osp.basename(name), {})}
    assert len(head.cfs.encoder.layers) == expected.get(
        'model.decode_head.num_layers', 2)
    if head.dual_branch:
        assert head.wcg.fc.out_features == expected.get(
            'model.decode_head.num_prototypes', 32)
    if hasattr(neck, 'afs'):
        selector = neck.afs.selectors[0]
        kind = expected.get('model.neck.selector_type', 'linear')
        assert {
            'linear': isinstance(selector, torch.nn.Linear),
            'mlp': isinstance(selector, torch.nn.Sequential),
            'conv': any(
                isinstance(m, torch.nn.Conv1d) for m in selector.modules()),
        }[kind], (kind, selector)
    del model
    gc.collect()


def _summary(model) -> dict:
    """What distinguishes the Table 2 rows, from a small forward pass, and
    the trainable parameters that one training step leaves without a
    gradient (DDP without ``find_unused_parameters`` needs none)."""
    torch.manual_seed(0)
    images = torch.randn(2, 3, 64, 64)
    texts = ['the man on the left', 'a red car near the bench']
    with torch.no_grad():
        model.eval()
        feats = model.backbone(images, texts)
        fused = model.neck(feats)
        out = model.decode_head.forward_branches(fused)
    model.train()
    samples = []
    for i, text in enumerate(texts):
        mask = torch.zeros(1, 64, 64, dtype=torch.long)
        mask[:, 8 * i:8 * i + 24, 16:40] = 1
        samples.append(
            SegDataSample(
                gt_sem_seg=PixelData(data=mask),
                metainfo=dict(text=text, img_shape=(64, 64))))
    loss, _ = model.parse_losses(model.loss(images, samples))
    loss.backward()
    return dict(
        no_grad=[
            name for name, param in model.named_parameters()
            if param.requires_grad and param.grad is None
        ],
        params={k: tuple(v.shape)
                for k, v in model.named_parameters()},
        modules={k.split('.')[0] + '.' + k.split('.')[1]
                 for k, _ in model.named_parameters()
                 if k.startswith(('neck.', 'decode_head.'))},
        selection=fused.extras.get('asda_selection'),
        outputs={k: tuple(v.shape)
                 for k, v in out.items()})


def test_table2_configs_side_by_side():
    """Table 2 (a)-(f): exactly the documented fields differ from the main
    config, and the built models differ accordingly."""
    main = _load(MAIN)
    # small input for the forward pass, the same for every row
    small = dict(img_size=64)
    summaries = {}
    for row, expected in TABLE2.items():
        cfg = _load(TABLE2_FILES[row])
        assert _diff(cfg, main) == expected, row
        cfg.model.decode_head.feat_size = 4
        cfg.model.data_preprocessor.size = (64, 64)
        model = _build(cfg, **small)
        summaries[row] = _summary(model)
        del model
        gc.collect()

    def has(row, module):
        return module in summaries[row]['modules']

    # (a) top layer only; (b) fixed layers 6 and 9; (c) AFS, both
    # concatenated and projected; (d)-(f) AFS + SFA
    for row in 'abcdef':
        assert has(row, 'neck.fusion')  # F_G = F_H x f_E in every row
        assert has(row, 'neck.afs') == (row in 'cdef'), row
        assert has(row, 'neck.sfa') == (row in 'def'), row
        assert has(row, 'neck.concat') == (row in 'abc'), row
        assert (summaries[row]['selection'] is not None) == (row in 'cdef')
        # word features: none in (a)-(d), one branch in (e), WCG in (f)
        assert has(row, 'decode_head.wcg') == (row in 'ef'), row
        assert has(row, 'decode_head.cfs')
    def concat_inputs(row):
        (shape, ) = [
            s for k, s in summaries[row]['params'].items()
            if k.startswith('neck.concat.proj') and len(s) == 4
        ]
        return shape[1]

    # (a) projects F_G alone, (b) and (c) F_L, F_M and F_G concatenated
    assert concat_inputs('a') == 768
    assert concat_inputs('b') == concat_inputs('c') == 3 * 768
    for row in 'abcdef':
        assert summaries[row]['no_grad'] == [], row
    for row in 'abcde':
        assert summaries[row]['outputs'] == {'logits': (2, 1, 32, 32)}, row
    assert summaries['f']['outputs'] == {
        'logits': (2, 1, 32, 32),
        'prototypes': (2, 32, 32, 32),
        'coefficients': (2, 32)
    }
    # (e) has the word cross-attention but no coefficient generator
    wcg_e = {k for k in summaries['e']['params'] if '.wcg.' in '.' + k}
    wcg_f = {k for k in summaries['f']['params'] if '.wcg.' in '.' + k}
    assert wcg_e and wcg_e < wcg_f
    # (f) is the main config
    assert _diff(_load(TABLE2_FILES['f']), main) == {}


def test_paper_reading_variant():
    """The paper-reading config changes exactly its documented switches."""
    assert _diff(_load(PAPER), _load(MAIN)) == PAPER_DIFF


@pytest.mark.parametrize('name', sorted(TABLES345))
def test_tables345_configs(name):
    """Tables 3-5: 10 epochs and exactly one documented change."""
    cfg = _load(osp.join('ablations', name))
    assert _diff(cfg, _load(MAIN)) == TABLES345[name]


@pytest.mark.full_size
def test_main_config_full_size_train_step(refer_data_root):
    """One optimizer step of the main config at 416x416 on the CPU.

    Real training pipeline (flip / HSV / letterbox / affine) on generated
    data, the config's data preprocessor, model and optimizer wrapper
    (paramwise lr), random weights.
    """
    torch.manual_seed(0)
    cfg = _load(MAIN)
    dataset_cfg = cfg.train_dataloader.dataset.copy()
    dataset_cfg.data_root = refer_data_root
    dataset = DATASETS.build(dataset_cfg)
    batch = pseudo_collate([dataset[0], dataset[1]])
    assert batch['inputs'][0].shape[-2:] == (416, 416)

    model = _build(cfg)
    model.train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    # AMP only where the machine has an accelerator
    assert isinstance(optim_wrapper,
                      AmpOptimWrapper) == torch.cuda.is_available()
    lrs = {}
    for group in optim_wrapper.optimizer.param_groups:
        for param in group['params']:
            lrs[id(param)] = group['lr']
    for name, param in model.named_parameters():
        want = 5e-6 if name.startswith('backbone.') else 5e-5
        assert lrs[id(param)] == pytest.approx(want), name

    before = {
        name: param.detach().clone()
        for name, param in model.named_parameters()
        if name.startswith(('neck.afs', 'decode_head.wcg'))
    }
    with optim_wrapper.optim_context(model):
        data = model.data_preprocessor(batch, True)
        assert data['inputs'].shape == (2, 3, 416, 416)
        losses = model(**data, mode='loss')
    loss, log_vars = model.parse_losses(losses)
    assert set(log_vars) >= {'loss', 'loss_focal', 'loss_dice'}
    assert torch.isfinite(loss)
    optim_wrapper.backward(loss)
    # every trainable parameter is reached (so DDP needs no
    # find_unused_parameters), the learnable selector included
    missing = [
        name for name, param in model.named_parameters()
        if param.requires_grad and param.grad is None
    ]
    assert not missing, missing[:10]
    # (a selector's bias gets none: softmax ignores a shared shift)
    selector = [
        param.grad.abs().sum().item()
        for name, param in model.named_parameters()
        if name.startswith('neck.afs.selectors') and name.endswith('weight')
    ]
    assert selector and all(g > 0 for g in selector)
    optim_wrapper.step()
    changed = [
        name for name, value in before.items()
        if not torch.equal(value, dict(model.named_parameters())[name])
    ]
    assert changed
    del model, optim_wrapper
    gc.collect()


def test_metafile_and_readme():
    """metafile.yaml lists every config; the README gives the converter
    command without flags and a row for every paper-reading switch."""
    import re

    import yaml

    meta = yaml.safe_load(open(osp.join(ASDA, 'metafile.yaml')))
    assert {m['Config'] for m in meta['Models']} == {
        f'configs/asda/{name}' for name in ALL_CONFIGS
    }
    for entry in meta['Models']:
        assert osp.isfile(osp.join(REPO, entry['Config']))
    main = {m['Name']: m for m in meta['Models']}['asda_vitb_refcoco']
    assert [(r['Dataset'], r['Metrics']['IoU']) for r in main['Results']] == [
        ('RefCOCO val', 75.06), ('RefCOCO testA', 77.14),
        ('RefCOCO testB', 71.36)
    ]

    readme = open(osp.join(ASDA, 'README.md')).read()
    # the converter command takes no flag and the converted file is tested
    # with the shipped config as it is
    assert ('python tools/model_converters/asda2mmris.py '
            'asda_refcoco_checkpoint.pth.tar '
            'checkpoints/asda_vitb_refcoco_converted.pth\n') in readme
    assert re.search(r'tools/test\.py configs/asda/asda_vitb_refcoco\.py '
                     r'checkpoints/asda_vitb_refcoco_converted\.pth\n',
                     readme)
    # every paper-reading switch has its row in the README
    for key in PAPER_DIFF:
        if 'loss_decode' not in key:
            assert f'`{key}`' in readme, key
    assert '`alpha=0.25, gamma=2.0`' in readme
    assert '`alpha=-1, gamma=0`' in readme
    assert PAPER in readme
