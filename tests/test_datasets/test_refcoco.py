"""RefCOCODataset and the REFER readers on generated data."""
import json
import os.path as osp
import pickle
import pickletools
from collections import Counter

import numpy as np
import pytest
from mmengine.dataset import ConcatDataset
from mmengine.registry import DefaultScope
from PIL import Image
from pycocotools import mask as mask_utils

from mmris.datasets import (RefCOCODataset, decode_ref_mask, load_ref_mask,
                            load_refs_pickle)
from mmris.registry import DATASETS
from mmris.testing import dump_py2_pickle, dumps_py2_pickle

ALL_SPLITS = [
    ('refcoco', 'unc', 'train'), ('refcoco', 'unc', 'val'),
    ('refcoco', 'unc', 'testA'), ('refcoco', 'unc', 'testB'),
    ('refcoco+', 'unc', 'train'), ('refcoco+', 'unc', 'val'),
    ('refcoco+', 'unc', 'testA'), ('refcoco+', 'unc', 'testB'),
    ('refcocog', 'umd', 'train'), ('refcocog', 'umd', 'val'),
    ('refcocog', 'umd', 'test'), ('refcocog', 'google', 'train'),
    ('refcocog', 'google', 'val')
]


def _refs_path(root, dataset, split_by):
    return osp.join(root, dataset, f'refs({split_by}).p')


def _raw_refs(root, dataset, split_by):
    """The refs decoded independently of mmris."""
    with open(_refs_path(root, dataset, split_by), 'rb') as f:
        return pickle.load(f, encoding='utf-8')


def _instances(root, dataset):
    with open(osp.join(root, dataset, 'instances.json')) as f:
        return json.load(f)


def _expected_mask(ann, height, width):
    """COCO API's annToMask, written out with pycocotools."""
    segm = ann['segmentation']
    if isinstance(segm, list):
        rle = mask_utils.merge(mask_utils.frPyObjects(segm, height, width))
    elif isinstance(segm['counts'], list):
        rle = mask_utils.frPyObjects(segm, height, width)
    else:
        rle = dict(size=segm['size'], counts=segm['counts'].encode())
    return mask_utils.decode(rle)


# ---------------------------------------------------------------- pickles
def test_py2_pickle_needs_bytes_decoding(refer_data_root):
    path = _refs_path(refer_data_root, 'refcoco', 'unc')
    with open(path, 'rb') as f:
        raw = f.read()
    ops = Counter(op.name for op, _, _ in pickletools.genops(raw))
    assert raw[:2] == b'\x80\x02'
    assert ops['SHORT_BINSTRING'] > 0 and ops['BINSTRING'] > 0
    assert not any('UNICODE' in name for name in ops)
    with pytest.raises(UnicodeDecodeError):
        pickle.loads(raw)

    refs = load_refs_pickle(path)
    assert refs == pickle.loads(raw, encoding='utf-8')
    texts = [s['sent'] for r in refs for s in r['sentences']]
    assert all(isinstance(t, str) for t in texts)
    assert any('café' in t for t in texts)
    assert all(isinstance(k, str) for k in refs[0])


def test_load_refs_pickle_python3_and_ascii(tmp_path):
    refs = [dict(ref_id=1, split='val', sentences=[dict(sent='a', sent_id=3)])]
    py3 = tmp_path / 'py3.p'
    py3.write_bytes(pickle.dumps(refs, protocol=4))
    assert load_refs_pickle(str(py3)) == refs
    py2 = tmp_path / 'py2.p'
    dump_py2_pickle(refs, str(py2))
    assert pickle.loads(py2.read_bytes()) == refs  # ASCII loads plainly
    assert load_refs_pickle(str(py2)) == refs


def test_dumps_py2_pickle_values():
    obj = dict(
        small=7, mid=300, big=70000, neg=-5, huge=2**40, negh=-2**40,
        f=0.25, none=None, t=True, fl=False, tup=(1, 'ü'), empty=[],
        long='x' * 300, nested=[dict(a=[1, [2, 3]])] * 3)
    assert pickle.loads(dumps_py2_pickle(obj), encoding='utf-8') == obj
    with pytest.raises(TypeError, match='set'):
        dumps_py2_pickle({1, 2})


# ---------------------------------------------------------------- counts
@pytest.mark.parametrize('dataset,split_by,split', ALL_SPLITS)
def test_counts_per_split(refer_data_summary, dataset, split_by, split):
    root = refer_data_summary['root']
    expected = refer_data_summary['datasets'][dataset][split_by][split]
    assert expected['num_refs'] > 0

    per_sent = RefCOCODataset(
        data_root=root, dataset=dataset, split_by=split_by, split=split)
    assert len(per_sent) == expected['num_sentences']
    sent_ids = [per_sent.get_data_info(i)['sent_id'] for i in
                range(len(per_sent))]
    # Every sentence exactly once, in the pickle's order.
    assert sent_ids == expected['sent_ids']

    per_ref = RefCOCODataset(
        data_root=root,
        dataset=dataset,
        split_by=split_by,
        split=split,
        sample_unit='ref')
    assert len(per_ref) == expected['num_refs']
    infos = [per_ref.get_data_info(i) for i in range(len(per_ref))]
    assert [i['ref_id'] for i in infos] == expected['ref_ids']
    assert sorted({i['img_id'] for i in infos}) == expected['image_ids']
    name = (f'{dataset}_{split_by}_{split}'
            if dataset == 'refcocog' else f'{dataset}_{split}')
    assert {i['split'] for i in infos} == {name}


def test_defaults_and_split_name(refer_data_root):
    ds = RefCOCODataset(
        data_root=refer_data_root, dataset='refcocog', split='test')
    assert ds.split_by == 'umd'
    assert ds.get_data_info(0)['split'] == 'refcocog_umd_test'
    ds = RefCOCODataset(
        data_root=refer_data_root, split='val', split_name='my_val')
    assert ds.dataset == 'refcoco' and ds.split_by == 'unc'
    assert ds.get_data_info(0)['split'] == 'my_val'
    assert ds.metainfo['classes'] == ('background', 'object')


def test_data_info_contents(refer_data_root):
    ds = RefCOCODataset(data_root=refer_data_root, split='train')
    refs = {r['ref_id']: r for r in _raw_refs(refer_data_root, 'refcoco',
                                              'unc')}
    images = {i['id']: i for i in _instances(refer_data_root,
                                             'refcoco')['images']}
    keys = {
        'img_path', 'img_id', 'ann_id', 'ref_id', 'sent_id', 'text', 'split',
        'ref_mask', 'category_id', 'seg_fields', 'reduce_zero_label'
    }
    for idx in range(len(ds)):
        info = ds.get_data_info(idx)
        assert keys <= set(info)
        ref = refs[info['ref_id']]
        sent = {s['sent_id']: s for s in ref['sentences']}[info['sent_id']]
        assert info['text'] == sent['sent']
        assert (info['img_id'], info['ann_id'],
                info['category_id']) == (ref['image_id'], ref['ann_id'],
                                         ref['category_id'])
        image = images[ref['image_id']]
        assert info['img_path'] == osp.join(refer_data_root, 'coco',
                                            'train2014', image['file_name'])
        assert osp.isfile(info['img_path'])
        assert info['ref_mask']['height'] == image['height']
        assert info['ref_mask']['width'] == image['width']
        assert info['seg_fields'] == [] and info['reduce_zero_label'] is False

    raw_ds = RefCOCODataset(
        data_root=refer_data_root, split='train', text_field='raw')
    texts = [raw_ds.get_data_info(i)['text'] for i in range(len(raw_ds))]
    assert all(t.endswith('.') for t in texts)
    assert any(len(t.split()) >= 60 for t in texts)  # not truncated
    assert any(not t.isascii() for t in texts)


def test_ref_mode_draws_at_every_access(refer_data_root):
    ds = RefCOCODataset(
        data_root=refer_data_root,
        split='train',
        sample_unit='ref',
        pipeline=[])
    idx = next(i for i in range(len(ds))
               if len(ds.get_data_info(i)['sentences']) >= 2)
    allowed = {t for _, t in ds.get_data_info(idx)['sentences']}
    drawn = [ds.get_data_info(idx)['text'] for _ in range(100)]
    drawn += [ds[idx]['text'] for _ in range(100)]
    assert set(drawn) == allowed
    pairs = dict(ds.get_data_info(idx)['sentences'])
    for _ in range(20):
        info = ds[idx]
        assert pairs[info['sent_id']] == info['text']

    unserialized = RefCOCODataset(
        data_root=refer_data_root,
        split='train',
        sample_unit='ref',
        serialize_data=False)
    assert len({unserialized[idx]['text'] for _ in range(100)}) > 1


# ---------------------------------------------------------------- masks
def test_masks_match_pycocotools(refer_data_summary):
    root = refer_data_summary['root']
    coco = _instances(root, 'refcocog')
    anns = {a['id']: a for a in coco['annotations']}
    images = {i['id']: i for i in coco['images']}
    kinds_seen = set()
    for split in ('train', 'val', 'test'):
        ds = RefCOCODataset(
            data_root=root, dataset='refcocog', split=split,
            sample_unit='ref')
        for idx in range(len(ds)):
            info = ds.get_data_info(idx)
            image = images[info['img_id']]
            expected = _expected_mask(anns[info['ann_id']], image['height'],
                                      image['width'])
            mask = load_ref_mask(info['ref_mask'])
            assert mask.dtype == np.uint8
            assert set(np.unique(mask)) <= {0, 1}
            np.testing.assert_array_equal(mask, expected)
            assert mask.any()
            with Image.open(info['img_path']) as img:
                assert mask.shape == (img.height, img.width)
            kinds_seen.add(refer_data_summary['mask_kinds'][info['ann_id']])
    assert kinds_seen == {'polygon', 'multi_polygon', 'rle', 'compressed_rle'}


def test_generated_images_are_awkward(refer_data_summary):
    modes = set()
    for image in refer_data_summary['images']:
        path = osp.join(refer_data_summary['root'], 'coco', 'train2014',
                        image['file_name'])
        with Image.open(path) as img:
            assert (img.width, img.height) == (image['width'],
                                                image['height'])
            modes.add(img.mode)
    assert {'L', 'RGBA', 'RGB'} <= modes
    sizes = [(i['width'], i['height']) for i in refer_data_summary['images']]
    assert any(w > h for w, h in sizes) and any(h > w for w, h in sizes)


def test_decode_ref_mask_forms():
    poly = [2.0, 2.0, 12.0, 2.0, 12.0, 9.0, 2.0, 9.0]
    flat = decode_ref_mask(poly, 11, 15)
    np.testing.assert_array_equal(flat, decode_ref_mask([poly], 11, 15))
    assert flat.shape == (11, 15) and flat.sum() > 0
    rle = mask_utils.encode(np.asfortranarray(flat))
    compressed = dict(size=rle['size'], counts=rle['counts'].decode())
    np.testing.assert_array_equal(decode_ref_mask(compressed, 11, 15), flat)
    np.testing.assert_array_equal(
        decode_ref_mask(dict(size=rle['size'], counts=rle['counts']), 11, 15),
        flat)
    with pytest.raises(ValueError, match='does not match'):
        decode_ref_mask(compressed, 15, 11)
    with pytest.raises(KeyError, match='segmentation'):
        load_ref_mask(dict(foo=1))


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize('dataset,split_by,split', [
    ('refcoco', None, 'test'),
    ('refcocog', None, 'testA'),
    ('refcocog', 'google', 'test'),
    ('refcoco+', 'unc', 'Val'),
])
def test_unknown_split(refer_data_root, dataset, split_by, split):
    with pytest.raises(ValueError, match='valid splits') as e:
        RefCOCODataset(
            data_root=refer_data_root,
            dataset=dataset,
            split_by=split_by,
            split=split)
    assert repr(split) in str(e.value) and "'val'" in str(e.value)


def test_bad_arguments(refer_data_root):
    with pytest.raises(ValueError, match='refcocog'):
        RefCOCODataset(data_root=refer_data_root, dataset='refclef')
    with pytest.raises(ValueError, match='split_by'):
        RefCOCODataset(data_root=refer_data_root, split_by='umd')
    with pytest.raises(ValueError, match='sample_unit'):
        RefCOCODataset(data_root=refer_data_root, sample_unit='image')
    with pytest.raises(ValueError, match='text_field'):
        RefCOCODataset(data_root=refer_data_root, text_field='tokens')


def test_missing_files(refer_data_root, tmp_path):
    with pytest.raises(FileNotFoundError, match=r'refs_file') as e:
        RefCOCODataset(data_root=str(tmp_path))
    assert 'refs(unc).p' in str(e.value)
    with pytest.raises(FileNotFoundError, match='ann_file') as e:
        RefCOCODataset(
            data_root=str(tmp_path),
            refs_file=_refs_path(refer_data_root, 'refcoco', 'unc'))
    assert 'instances.json' in str(e.value)


def test_image_missing_from_instances(refer_data_root, tmp_path):
    coco = _instances(refer_data_root, 'refcoco')
    dropped = coco['images'].pop(0)['id']
    ann_file = tmp_path / 'instances.json'
    ann_file.write_text(json.dumps(coco))
    split = next(r['split'] for r in _raw_refs(refer_data_root, 'refcoco',
                                               'unc')
                 if r['image_id'] == dropped)
    with pytest.raises(KeyError, match=f'image_id={dropped}'):
        RefCOCODataset(
            data_root=refer_data_root, split=split, ann_file=str(ann_file))


def test_empty_expressions_dropped(refer_data_root, tmp_path):
    refs = _raw_refs(refer_data_root, 'refcoco', 'unc')
    train = [r for r in refs if r['split'] == 'train']
    multi = next(r for r in train if len(r['sentences']) >= 2)
    single = next(r for r in train if r is not multi)
    multi['sentences'][0]['sent'] = '   '
    for sent in single['sentences']:
        sent['sent'] = ''
    refs_file = tmp_path / 'refs(blank).p'
    dump_py2_pickle(refs, str(refs_file))

    ds = RefCOCODataset(
        data_root=refer_data_root, refs_file=str(refs_file))
    ref_ds = RefCOCODataset(
        data_root=refer_data_root, refs_file=str(refs_file),
        sample_unit='ref')
    n_sents = sum(len(r['sentences']) for r in train)
    assert len(ds) == n_sents - 1 - len(single['sentences'])
    assert len(ref_ds) == len(train) - 1
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert all(i['text'].strip() for i in infos)
    assert multi['sentences'][0]['sent_id'] not in {i['sent_id'] for i in
                                                    infos}
    assert single['ref_id'] not in {i['ref_id'] for i in infos}


# ---------------------------------------------------------------- combining
def test_exclude_images_of(refer_data_summary):
    root = refer_data_summary['root']
    summary = refer_data_summary['datasets']
    held_out = set()
    for split in ('val', 'testA', 'testB'):
        held_out |= set(summary['refcoco']['unc'][split]['image_ids'])
    exclude = [dict(dataset='refcoco', split_by='unc',
                    splits=['val', 'testA', 'testB'])]
    full = RefCOCODataset(
        data_root=root, dataset='refcocog', split='train', sample_unit='ref')
    clean = RefCOCODataset(
        data_root=root,
        dataset='refcocog',
        split='train',
        sample_unit='ref',
        exclude_images_of=exclude)
    full_infos = [full.get_data_info(i) for i in range(len(full))]
    kept = [i['ref_id'] for i in full_infos if i['img_id'] not in held_out]
    assert 0 < len(kept) < len(full)
    assert [clean.get_data_info(i)['ref_id']
            for i in range(len(clean))] == kept

    # Image-disjoint splits of the same dataset: nothing to remove.
    train = RefCOCODataset(
        data_root=root,
        exclude_images_of=[dict(dataset='refcoco', splits=['val'])])
    assert len(train) == summary['refcoco']['unc']['train']['num_sentences']

    with pytest.raises(ValueError, match='valid splits'):
        RefCOCODataset(
            data_root=root,
            exclude_images_of=[dict(dataset='refcoco', splits=['test'])])
    with pytest.raises(ValueError, match='"splits"'):
        RefCOCODataset(data_root=root,
                       exclude_images_of=[dict(dataset='refcoco')])


def test_registry_and_concat(refer_data_summary):
    root = refer_data_summary['root']
    parts = [
        dict(type='RefCOCODataset', data_root=root, dataset=name,
             split='train')
        for name in ('refcoco', 'refcoco+', 'refcocog')
    ]
    # ConcatDataset builds its parts in the current scope, as a Runner with
    # default_scope='mmris' does.
    with DefaultScope.overwrite_default_scope('mmris'):
        combined = DATASETS.build(dict(type='ConcatDataset', datasets=parts))
    assert isinstance(combined, ConcatDataset)
    summary = refer_data_summary['datasets']
    assert len(combined) == sum(
        summary[name][sb]['train']['num_sentences']
        for name, sb in (('refcoco', 'unc'), ('refcoco+', 'unc'),
                         ('refcocog', 'umd')))


def test_loading_pipeline_on_every_image(refer_data_summary):
    """Grayscale / RGBA images and every mask kind load through the
    pipeline with matching sizes."""
    seen = set()
    for split in ('train', 'val'):
        with DefaultScope.overwrite_default_scope('mmris'):
            ds = RefCOCODataset(
                data_root=refer_data_summary['root'],
                dataset='refcocog',
                split_by='google',
                split=split,
                sample_unit='ref',
                pipeline=[
                    dict(type='LoadRefImageFromFile'),
                    dict(type='LoadRefMask')
                ])
        for idx in range(len(ds)):
            results = ds[idx]
            assert results['gt_seg_map'].shape == results['img'].shape[:2]
            seen.add(results['img_id'])
    assert seen == {image['id'] for image in refer_data_summary['images']}
