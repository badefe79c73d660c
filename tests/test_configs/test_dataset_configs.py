"""The default dataset configs read generated REFER data as documented."""
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope
from pycocotools import mask as mask_utils

import mmris  # noqa: F401
from mmris.registry import DATASETS
from mmris.utils import register_all_modules
from e2e_utils import REPO

register_all_modules(init_default_scope=False)

BASE = osp.join(REPO, 'configs', '_base_', 'datasets')
# config -> (dataset, split_by, evaluation splits)
CONFIGS = {
    'refcoco.py': ('refcoco', 'unc', ['val', 'testA', 'testB']),
    'refcoco_plus.py': ('refcoco+', 'unc', ['val', 'testA', 'testB']),
    'refcocog_umd.py': ('refcocog', 'umd', ['val', 'test']),
    'refcocog_google.py': ('refcocog', 'google', ['val']),
}


def _with_root(cfg_dict, root):
    """Point every dataset of a (possibly concatenated) config at root."""
    if 'datasets' in cfg_dict:
        for sub in cfg_dict['datasets']:
            _with_root(sub, root)
    else:
        cfg_dict['data_root'] = root
    return cfg_dict


def _expected_mask(instances, ann_id):
    ann = next(a for a in instances['annotations'] if a['id'] == ann_id)
    img = next(i for i in instances['images'] if i['id'] == ann['image_id'])
    h, w = img['height'], img['width']
    seg = ann['segmentation']
    if isinstance(seg, list):
        rle = mask_utils.merge(mask_utils.frPyObjects(seg, h, w))
    elif isinstance(seg['counts'], list):
        rle = mask_utils.frPyObjects(seg, h, w)
    else:
        rle = seg
    return mask_utils.decode(rle)


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_eval_set_covers_every_sentence_once(name, refer_data_summary):
    import json
    dataset, split_by, splits = CONFIGS[name]
    root = refer_data_summary['root']
    cfg = Config.fromfile(osp.join(BASE, name))
    with DefaultScope.overwrite_default_scope('mmris'):
        test_set = DATASETS.build(
            _with_root(cfg.test_dataloader.dataset.to_dict(), root))
        instances = json.load(
            open(osp.join(root, dataset, 'instances.json')))
        seen = {}
        for i in range(len(test_set)):
            sample = test_set[i]
            meta = sample['data_samples'].metainfo
            key = (meta['split'], meta['sent_id'])
            assert key not in seen, f'{key} evaluated twice'
            seen[key] = meta
            gt = sample['data_samples'].gt_sem_seg.data[0].numpy()
            assert gt.shape == tuple(meta['ori_shape'])
            np.testing.assert_array_equal(
                gt, _expected_mask(instances, meta['ann_id']))
            assert meta['text'] and meta['ref_id'] is not None
            assert {'img_id', 'ann_id', 'sent_id'} <= set(meta)
    expected = refer_data_summary['datasets'][dataset][split_by]
    split_prefix = dataset if split_by == 'unc' else f'{dataset}_{split_by}'
    for split in splits:
        got = sorted(s for (sp, s) in seen if sp == f'{split_prefix}_{split}')
        assert got == sorted(expected[split]['sent_ids']), split


def test_combined_family_training_excludes_every_evaluated_image(
        refer_data_summary):
    root = refer_data_summary['root']
    cfg = Config.fromfile(osp.join(BASE, 'refcoco_family.py'))
    datasets = refer_data_summary['datasets']
    eval_images = set()
    for dataset, split_by, splits in [
        ('refcoco', 'unc', ['val', 'testA', 'testB']),
        ('refcoco+', 'unc', ['val', 'testA', 'testB']),
        ('refcocog', 'umd', ['val', 'test']),
        ('refcocog', 'google', ['val']),
    ]:
        for split in splits:
            eval_images |= set(datasets[dataset][split_by][split]['image_ids'])
    train_images = set()
    for dataset, split_by in [('refcoco', 'unc'), ('refcoco+', 'unc'),
                              ('refcocog', 'umd')]:
        train_images |= set(datasets[dataset][split_by]['train']['image_ids'])
    # the generated datasets share images across datasets, as the real ones
    assert train_images & eval_images, 'nothing to exclude: weak test data'
    with DefaultScope.overwrite_default_scope('mmris'):
        train_set = DATASETS.build(
            _with_root(cfg.train_dataloader.dataset.to_dict(), root))
        used = {train_set.get_data_info(i)['img_id']
                for i in range(len(train_set))}
    assert used, 'the combined training set is empty'
    assert not used & eval_images
    assert used == train_images - eval_images
