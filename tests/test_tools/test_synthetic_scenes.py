"""The quick start's synthetic scenes and tiny CRIS config.

- ``make_synthetic_scenes`` writes valid REFER data that ``RefCOCODataset``
  reads; every expression picks out exactly its own object (checked with a
  parser written here, independent of the generator), is unique within its
  image, and the polygon masks cover the pixels painted in the object's
  colour.
- ``configs/cris/cris_tiny_synthetic.py`` builds and runs a training step on
  that data with its own pipeline and optimizer.
- ``tools/analysis_tools/chance_baseline.py`` scores the text-blind
  baselines with RefSegMetric.
"""
import copy
import json
import os.path as osp
import re
from collections import defaultdict

import numpy as np
import pytest
import torch
from e2e_utils import run_tool
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from PIL import Image

from mmris.datasets import RefCOCODataset, load_instances, load_ref_mask
from mmris.datasets.synthetic_scenes import COLOURS, make_synthetic_scenes
from mmris.registry import DATASETS, MODELS
from mmris.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_CONFIG = osp.join(REPO, 'configs', 'cris', 'cris_tiny_synthetic.py')
SHAPE_OF_CATEGORY = {1: 'circle', 2: 'square', 3: 'triangle'}

register_all_modules(init_default_scope=False)


@pytest.fixture(scope='module')
def scenes(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('synthetic_scenes'))
    summary = make_synthetic_scenes(root, num_train=40, num_val=10, seed=3)
    return summary


def _resolve(text, objects):
    """Objects an expression selects, parsed independently of the
    generator: colour / shape words filter, a position word keeps the one
    object strictly furthest in that direction (by grid cell)."""
    words = re.findall(r'[a-z]+', text)
    colours = [w for w in words if w in COLOURS]
    shapes = [w for w in words if w in SHAPE_OF_CATEGORY.values()]
    positions = [w for w in words if w in ('left', 'right', 'top', 'bottom')]
    assert len(colours) <= 1 and len(shapes) <= 1 and len(positions) <= 1
    assert colours or shapes, text
    cands = [
        o for o in objects
        if (not colours or o['colour'] == colours[0]) and (
            not shapes or o['shape'] == shapes[0])
    ]
    if positions:
        axis = {'left': 1, 'right': 1, 'top': 0, 'bottom': 0}[positions[0]]
        sign = -1 if positions[0] in ('left', 'top') else 1
        best = min(sign * o['grid'][axis] for o in cands)
        cands = [o for o in cands if sign * o['grid'][axis] == best]
    return [o['id'] for o in cands]


def test_summary_and_dataset(scenes):
    root = scenes['root']
    assert osp.isfile(osp.join(root, 'refcoco', 'instances.json'))
    assert osp.isfile(osp.join(root, 'refcoco', 'refs(unc).p'))
    assert scenes['train']['num_images'] == 40
    assert scenes['val']['num_images'] == 10
    for split in ('train', 'val'):
        ds = RefCOCODataset(
            data_root=root, dataset='refcoco', split=split,
            sample_unit='sentence', pipeline=[])
        assert len(ds) == scenes[split]['num_sentences']
        by_ref = RefCOCODataset(
            data_root=root, dataset='refcoco', split=split,
            sample_unit='ref', pipeline=[])
        assert len(by_ref) == scenes[split]['num_refs']
    # 2-4 objects per image, every object a ref
    coco = load_instances(osp.join(root, 'refcoco', 'instances.json'))
    per_image = defaultdict(int)
    for ann in coco['annotations'].values():
        per_image[ann['image_id']] += 1
    assert set(per_image.values()) <= {2, 3, 4}
    assert len(set(per_image.values())) > 1
    assert sum(per_image.values()) == (scenes['train']['num_refs'] +
                                       scenes['val']['num_refs'])


def test_expressions_select_exactly_their_object(scenes):
    root = scenes['root']
    coco = load_instances(osp.join(root, 'refcoco', 'instances.json'))
    objects_of = defaultdict(list)
    for ann in coco['annotations'].values():
        objects_of[ann['image_id']].append(
            dict(id=ann['id'], colour=ann['colour'], grid=ann['grid'],
                 shape=SHAPE_OF_CATEGORY[ann['category_id']]))
    kinds = defaultdict(int)
    for split in ('train', 'val'):
        ds = RefCOCODataset(data_root=root, dataset='refcoco', split=split,
                            pipeline=[])
        texts_of_image = defaultdict(list)
        for i in range(len(ds)):
            info = ds.get_data_info(i)
            text = info['text']
            assert _resolve(text, objects_of[info['img_id']]) == [
                info['ann_id']
            ], text
            texts_of_image[info['img_id']].append(text)
            words = set(text.split())
            kinds['colour'] += bool(words & set(COLOURS))
            kinds['shape'] += bool(words & set(SHAPE_OF_CATEGORY.values()))
            kinds['position'] += bool(
                words & {'left', 'right', 'top', 'bottom'})
        for texts in texts_of_image.values():
            assert len(texts) == len(set(texts))
    # every word kind is used (and needed: minimal descriptions)
    assert min(kinds.values()) > 10, kinds


def _erode(mask, steps):
    out = mask.copy()
    for _ in range(steps):
        padded = np.pad(out, 1, constant_values=False)
        out = (padded[1:-1, 1:-1] & padded[:-2, 1:-1] & padded[2:, 1:-1]
               & padded[1:-1, :-2] & padded[1:-1, 2:])
    return out


def test_masks_cover_the_painted_object(scenes):
    root = scenes['root']
    ds = RefCOCODataset(data_root=root, dataset='refcoco', split='val',
                        sample_unit='ref', pipeline=[])
    coco = load_instances(osp.join(root, 'refcoco', 'instances.json'))
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        mask = load_ref_mask(info['ref_mask']).astype(bool)
        image = np.asarray(
            Image.open(osp.join(root, info['img_path'])).convert('RGB'),
            dtype=np.float32)
        assert mask.shape == image.shape[:2]
        assert mask.sum() > 30
        colour = np.array(COLOURS[coco['annotations'][info['ann_id']]
                                  ['colour']], dtype=np.float32)
        # away from the border (polygon rasterisation, JPEG), the mask's
        # pixels have the object's colour (+-15 jitter)
        inside = np.abs(image[_erode(mask, 2)] - colour).max(axis=1)
        assert inside.size > 10
        assert np.mean(inside < 50) > 0.95
        # pixels outside the mask do not (other objects may share the
        # colour, the background never does)
        outside = np.abs(image[~_erode(~mask, 2)] - colour).max(axis=1)
        assert np.mean(outside < 50) < 0.5


def test_deterministic(tmp_path):
    a = make_synthetic_scenes(str(tmp_path / 'a'), 5, 2, seed=7)
    b = make_synthetic_scenes(str(tmp_path / 'b'), 5, 2, seed=7)
    for name in ('instances.json', 'refs(unc).p'):
        with open(osp.join(a['root'], 'refcoco', name), 'rb') as fa, \
                open(osp.join(b['root'], 'refcoco', name), 'rb') as fb:
            assert fa.read() == fb.read()


def test_cli(tmp_path):
    proc = run_tool([
        'tools/dataset_converters/make_synthetic_scenes.py',
        str(tmp_path), '--num-train', '3', '--num-val', '2'
    ])
    assert 'train: 3 images' in proc.stdout
    assert osp.isfile(tmp_path / 'refcoco' / 'refs(unc).p')


def test_tiny_cris_config_one_train_step(scenes):
    cfg = Config.fromfile(TINY_CONFIG)
    init_default_scope('mmris')
    assert cfg.model.backbone.type == 'CLIPResNet'
    assert cfg.model.neck.type == 'CRISNeck'
    assert cfg.model.decode_head.type == 'CRISHead'
    assert cfg.model.backbone.pretrained is None
    model = MODELS.build(cfg.model)
    model.train()
    data_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    data_cfg.data_root = scenes['root']
    dataset = DATASETS.build(data_cfg)
    batch = pseudo_collate([dataset[i] for i in range(4)])
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    log_vars = model.train_step(batch, optim_wrapper)
    assert torch.isfinite(log_vars['loss'])
    changed = [
        n for n, p in model.named_parameters()
        if not torch.equal(before[n], p.detach())
    ]
    for prefix in ('backbone.visual.', 'backbone.text.', 'neck.',
                   'decode_head.'):
        assert any(n.startswith(prefix) for n in changed), prefix
    # prediction at the original resolution, binary
    model.eval()
    test_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    test_cfg.data_root = scenes['root']
    test_set = DATASETS.build(test_cfg)
    with torch.no_grad():
        out = model.test_step(pseudo_collate([test_set[0], test_set[1]]))
    assert out[0].pred_sem_seg.data.shape[-2:] == out[0].gt_sem_seg.data.shape[
        -2:]


def test_chance_baseline(scenes, tmp_path):
    out = tmp_path / 'chance.json'
    run_tool([
        'tools/analysis_tools/chance_baseline.py', TINY_CONFIG, '--out',
        str(out), '--cfg-options',
        f'test_dataloader.dataset.data_root={scenes["root"]}/'
    ])
    result = json.load(open(out))
    assert set(result) == {'all objects', 'random object'}
    for values in result.values():
        assert {'oIoU', 'mIoU', 'Prec@0.5', 'Prec@0.9'} <= set(values)
    # with 2-4 objects a text-blind guess is right about a third of the time
    assert 15 < result['random object']['Prec@0.5'] < 60
    assert result['all objects']['Prec@0.9'] < 5
