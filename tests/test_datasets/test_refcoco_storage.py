"""RefCOCODataset's compact storage (one table row per ref, shared by its
sentences) and its orjson parsing change nothing it returns.

The expected data infos are built here from the files with ``pickle`` and
``json``, one full dict per sample as the plain construction builds them
(a copy of the ref's mask in every sentence's info)."""
import json
import os.path as osp
import pickle
import random
import types

import pytest
from torch.utils.data import DataLoader

import mmris  # noqa: F401  (must precede mmseg imports)
from mmris.datasets import RefCOCODataset, data_checks, load_instances
from mmris.datasets import refer_loader
from mmris.datasets.data_checks import (report_mask_problems,
                                        report_shared_mask_problems)
from mmris.testing.refcoco_size_root import make_refcoco_size_root

try:
    import orjson
except ImportError:  # the stdlib path is still tested
    orjson = None


def _expected_infos(root, dataset='refcoco', split_by='unc',
                    splits=('train', ), sample_unit='sentence',
                    text_field='sent', ann_file=None):
    """One full info per sample, from the files, without mmris."""
    with open(osp.join(root, dataset, f'refs({split_by}).p'), 'rb') as f:
        refs = pickle.load(f, encoding='utf-8')
    ann_file = ann_file or osp.join(root, dataset, 'instances.json')
    with open(ann_file, encoding='utf-8') as f:
        coco = json.load(f)
    images = {image['id']: image for image in coco['images']}
    anns = {ann['id']: ann for ann in coco['annotations']}
    prefix = f'{dataset}_{split_by}' if dataset == 'refcocog' else dataset
    infos = []
    for split in splits:
        for ref in refs:
            if ref['split'] != split:
                continue
            sentences = [(s['sent_id'], s[text_field].strip())
                         for s in ref['sentences'] if s[text_field].strip()]
            if not sentences:
                continue
            image, ann = images[ref['image_id']], anns[ref['ann_id']]
            info = dict(
                img_path=osp.join(root, 'coco', 'train2014',
                                  image['file_name']),
                img_id=image['id'],
                ann_id=ann['id'],
                ref_id=ref['ref_id'],
                category_id=ref.get('category_id', ann.get('category_id')),
                split=f'{prefix}_{split}',
                ref_mask=dict(
                    segmentation=ann['segmentation'],
                    height=image['height'],
                    width=image['width']),
                seg_fields=[],
                reduce_zero_label=False)
            if sample_unit == 'sentence':
                infos += [dict(info, sent_id=sent_id, text=text)
                          for sent_id, text in sentences]
            else:
                infos.append(
                    dict(info, sentences=sentences, sent_id=sentences[0][0],
                         text=sentences[0][1]))
    return infos


def _assert_same(got, want, where=''):
    """Equal, with the same types (1 is not 1.0) and the same key order."""
    assert type(got) is type(want), (where, got, want)
    if isinstance(want, dict):
        assert list(got) == list(want), where
        for key in want:
            _assert_same(got[key], want[key], f'{where}.{key}')
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want), where
        for k, (a, b) in enumerate(zip(got, want)):
            _assert_same(a, b, f'{where}[{k}]')
    elif isinstance(want, float) and want != want:
        assert got != got, where  # nan
    else:
        assert got == want, where


def _want(expected, idx, sample_idx, sample_unit):
    """What ``get_data_info`` returns right after ``random.seed(idx)``."""
    want = dict(expected)
    if sample_unit == 'ref':
        random.seed(idx)
        want['sent_id'], want['text'] = random.choice(want['sentences'])
    want['sample_idx'] = sample_idx
    return want


def _assert_infos(ds, expected, sample_unit='sentence'):
    assert len(ds) == len(expected)
    for idx, info in enumerate(expected):
        random.seed(idx)
        got = ds.get_data_info(idx)
        _assert_same(got, _want(info, idx, idx, sample_unit), f'[{idx}]')


@pytest.mark.parametrize('dataset,split_by,splits,sample_unit,kwargs', [
    ('refcoco', 'unc', ['train'], 'sentence', {}),
    ('refcoco', 'unc', ['train'], 'ref', {}),
    ('refcoco+', 'unc', ['val', 'testA', 'testB'], 'sentence',
     dict(serialize_data=False)),
    ('refcocog', 'umd', ['train', 'test'], 'ref',
     dict(serialize_data=False)),
    ('refcocog', 'google', ['val'], 'sentence', dict(text_field='raw')),
])
def test_infos_equal_the_plain_ones(refer_data_root, dataset, split_by,
                                    splits, sample_unit, kwargs):
    ds = RefCOCODataset(
        data_root=refer_data_root, dataset=dataset, split_by=split_by,
        split=splits, sample_unit=sample_unit, pipeline=[], **kwargs)
    expected = _expected_infos(
        refer_data_root, dataset, split_by, splits, sample_unit,
        kwargs.get('text_field', 'sent'))
    assert len({i['ref_id'] for i in expected}) < len(expected) or \
        sample_unit == 'ref'  # refs with several sentences are exercised
    _assert_infos(ds, expected, sample_unit)
    # negative indices count from the end, as in BaseDataset
    random.seed(0)
    got = ds.get_data_info(-1)
    _assert_same(got, _want(expected[-1], 0, len(ds) - 1, sample_unit))
    # the caller owns what it gets: editing it changes nothing stored
    got['ref_mask']['segmentation'].clear()
    got['seg_fields'].append('x')
    if sample_unit == 'ref':
        got['sentences'].clear()
    random.seed(0)
    _assert_same(ds.get_data_info(-1),
                 _want(expected[-1], 0, len(ds) - 1, sample_unit))


@pytest.mark.parametrize('serialize_data', [True, False])
@pytest.mark.parametrize('sample_unit', ['sentence', 'ref'])
def test_indices_subsets_pickling_and_workers(refer_data_root,
                                              serialize_data, sample_unit):
    kwargs = dict(data_root=refer_data_root, sample_unit=sample_unit,
                  serialize_data=serialize_data, pipeline=[])
    expected = _expected_infos(refer_data_root, sample_unit=sample_unit)
    assert len(expected) >= 6

    # indices= keeps the chosen samples and only the refs they use
    ds = RefCOCODataset(indices=[5, 0, 3], **kwargs)
    _assert_infos(ds, [expected[5], expected[0], expected[3]], sample_unit)
    assert len(ds._refs) == len(
        {expected[k]['ref_id'] for k in (5, 0, 3)})
    ds = RefCOCODataset(indices=-2, **kwargs)
    _assert_infos(ds, expected[-2:], sample_unit)

    full = RefCOCODataset(**kwargs)
    for indices, picked in (([4, 1], [4, 1]), (2, [0, 1]),
                            (-3, [len(expected) - 3 + k for k in range(3)])):
        _assert_infos(full.get_subset(indices),
                      [expected[k] for k in picked], sample_unit)
    _assert_infos(full, expected, sample_unit)  # untouched
    inplace = RefCOCODataset(**kwargs)
    inplace.get_subset_([2, 5])
    _assert_infos(inplace, [expected[2], expected[5]], sample_unit)

    # the object DataLoader workers receive, before and after full_init
    lazy = RefCOCODataset(lazy_init=True, **kwargs)
    assert not lazy._fully_initialized
    _assert_infos(pickle.loads(pickle.dumps(lazy)), expected, sample_unit)
    _assert_infos(pickle.loads(pickle.dumps(full)), expected, sample_unit)

    if sample_unit == 'sentence':
        loader = DataLoader(full, batch_size=3, num_workers=2,
                            collate_fn=list)
        got = [info for batch in loader for info in batch]
        for idx, (info, want) in enumerate(zip(got, expected)):
            _assert_same(info, dict(want, sample_idx=idx), f'[{idx}]')
        assert len(got) == len(expected)


def test_subsets_ignore_mmengines_shared_memo(refer_data_root):
    """BaseDataset._copy_without_annotation's default memo is one dict for
    every call; an entry left there for the address of the ref table (as
    when a dataset copied earlier lived at that address) must not replace
    the subset's table."""
    from mmengine.dataset import BaseDataset
    shared = BaseDataset._copy_without_annotation.__defaults__[0]
    assert isinstance(shared, dict)
    expected = _expected_infos(refer_data_root)
    ds = RefCOCODataset(data_root=refer_data_root, pipeline=[])
    stale = RefCOCODataset(data_root=refer_data_root, split='val')
    before = dict(shared)
    shared[id(ds._refs)] = stale
    try:
        sub = ds.get_subset([1, 0])
    finally:
        shared.pop(id(ds._refs))
    _assert_infos(sub, [expected[1], expected[0]])
    assert sub._refs is ds._refs  # read-only: shared, not copied
    assert shared == before  # nothing copied through the shared memo


def test_one_table_row_per_ref(tmp_path):
    """RefCOCO's shape (about 3 sentences per ref): each ref's polygons
    are stored once, so the pickled dataset is much smaller than the
    pickled full infos."""
    info = make_refcoco_size_root(str(tmp_path), scale=0.001)
    assert info['splits']['train'] == (42, 121)
    ds = RefCOCODataset(data_root=str(tmp_path), pipeline=[])
    expected = _expected_infos(str(tmp_path))
    _assert_infos(ds, expected)
    assert len(ds._refs) == 42
    # what serialising the full infos stores: a mask copy per sentence
    per_sample = sum(len(pickle.dumps(i, protocol=4)) for i in expected)
    masks = sum(
        len(pickle.dumps(i['ref_mask']['segmentation'], protocol=4))
        for i in expected)
    masks_once = sum(
        len(pickle.dumps(m, protocol=4)) for m in
        {i['ref_id']: i['ref_mask']['segmentation']
         for i in expected}.values())
    assert masks > 2.5 * masks_once
    pickled = len(pickle.dumps(ds, protocol=pickle.HIGHEST_PROTOCOL))
    assert ds._refs.data.nbytes < masks_once + 60 * 42  # + ids, file name
    assert ds.data_bytes.nbytes < 121 * 80  # ids and text only
    assert pickled < per_sample - masks + masks_once
    assert pickled < 0.5 * per_sample


# ---------------------------------------------------------------- parsing
def _stdlib_load(path):
    """What load_instances parsed with before orjson: json.load of the
    file opened as UTF-8 text (result or exception)."""
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except Exception as e:  # noqa: BLE001 - compared below
        return e


def _spy_orjson(monkeypatch):
    calls = []

    def loads(raw):
        calls.append(len(raw))
        return orjson.loads(raw)

    monkeypatch.setattr(
        refer_loader, 'orjson',
        types.SimpleNamespace(loads=loads,
                              JSONDecodeError=orjson.JSONDecodeError))
    return calls


@pytest.mark.parametrize('use_orjson', [False, True])
def test_orjson_and_stdlib_give_the_same_dataset(refer_data_root,
                                                 monkeypatch, use_orjson):
    if use_orjson:
        if orjson is None:
            pytest.skip('orjson is not installed')
        calls = _spy_orjson(monkeypatch)
    else:
        monkeypatch.setattr(refer_loader, 'orjson', None)
    path = osp.join(refer_data_root, 'refcocog', 'instances.json')
    coco = load_instances(path)
    raw = _stdlib_load(path)
    _assert_same(coco['images'], {i['id']: i for i in raw['images']})
    _assert_same(coco['annotations'],
                 {a['id']: a for a in raw['annotations']})
    _assert_same(coco['categories'],
                 {c['id']: c for c in raw['categories']})
    ds = RefCOCODataset(data_root=refer_data_root, dataset='refcocog',
                        split=['train', 'val', 'test'], pipeline=[])
    _assert_infos(ds, _expected_infos(refer_data_root, 'refcocog', 'umd',
                                      ['train', 'val', 'test']))
    if use_orjson:
        assert calls == [osp.getsize(path)] * 2  # the fast path parsed


_DOCUMENTS = {
    'numbers': b'{"a": [1, 1.0, -0.0, 1e2, 0.1, 5e-324, 239.97, '
               b'9223372036854775807, -9223372036854775808, '
               b'18446744073709551615], "b": "caf\xc3\xa9"}',
    # orjson reads these as floats; json keeps the integers
    'big integers': b'[18446744073709551616, -9223372036854775809, '
                    b'123456789012345678901234567890]',
    # orjson rejects these; json accepts them
    'json extensions': b'[NaN, Infinity, -Infinity, 1e400, "\\ud800"]',
    # 19+ digits in a row that are no integer literal: orjson parses
    'digit runs': b'{"counts": "0O1000000000000000000000001O", "f": '
                  b'[1e-1234567890123456789, 0.0000000000000000000000001, '
                  b'1.00000000000000000000000000001, 123456789012345678.5],'
                  b' "file_name": "COCO_1234567890123456789012.jpg"}',
    'truncated': b'{"images": [{"id": 1}',
    'trailing comma': b'[1, 2,]',
    'byte order mark': b'\xef\xbb\xbf{"images": []}',
    'not UTF-8': b'{"a": "\xff\xfe"}',
    'empty': b'',
}


@pytest.mark.parametrize('name', sorted(_DOCUMENTS))
@pytest.mark.parametrize('use_orjson', [False, True])
def test_parse_results_and_errors_are_the_stdlib_ones(tmp_path, monkeypatch,
                                                      name, use_orjson):
    if use_orjson and orjson is None:
        pytest.skip('orjson is not installed')
    if not use_orjson:
        monkeypatch.setattr(refer_loader, 'orjson', None)
    path = tmp_path / 'instances.json'
    path.write_bytes(_DOCUMENTS[name])
    want = _stdlib_load(str(path))
    try:
        got = refer_loader._parse_json(path.read_bytes())
    except Exception as e:  # noqa: BLE001
        got = e
    if isinstance(want, Exception):
        assert type(got) is type(want) and str(got) == str(want)
        # and load_instances lets it through unchanged
        with pytest.raises(type(want)) as e:
            load_instances(str(path))
        assert str(e.value) == str(want)
    else:
        _assert_same(got, want)


def test_long_integers_skip_orjson(tmp_path, monkeypatch):
    if orjson is None:
        pytest.skip('orjson is not installed')
    calls = _spy_orjson(monkeypatch)
    path = tmp_path / 'instances.json'
    for image_id, parser in ((2**70, 'json'), (2**62, 'json'),
                             (10**17, 'orjson')):
        doc = {'images': [{'id': image_id, 'file_name': 'a.jpg'}],
               'annotations': [{'id': 3, 'image_id': image_id}]}
        path.write_text(json.dumps(doc))
        calls.clear()
        coco = load_instances(str(path))
        # 22 and 19 digits in a row: json; 18 digits: orjson
        assert calls == ([] if parser == 'json' else [path.stat().st_size])
        _assert_same(coco['images'], {image_id: doc['images'][0]})
        _assert_same(coco['annotations'], {3: doc['annotations'][0]})
    calls.clear()
    want = json.loads(_DOCUMENTS['digit runs'])
    _assert_same(refer_loader._parse_json(_DOCUMENTS['digit runs']), want)
    assert calls == [len(_DOCUMENTS['digit runs'])]  # not a false positive
    for text in (b'[-1234567890123456789012]',
                 b'{"a":\n 10000000000000000000}'):
        calls.clear()
        _assert_same(refer_loader._parse_json(text), json.loads(text))
        assert calls == []


# ---------------------------------------------------------------- checks
def _captured_warnings(monkeypatch):
    messages = []
    monkeypatch.setattr(data_checks, 'print_log',
                        lambda msg, **kwargs: messages.append(msg))
    return messages


def test_shared_mask_report_counts_samples():
    empty = dict(segmentation=[[1, 1, 2, 2]], height=10, width=10)
    fine = dict(segmentation=[[1, 1, 8, 1, 8, 8]], height=10, width=10)
    outside = dict(segmentation=[[-9, -9, -5, -9, -5, -5]], height=10,
                   width=10)
    counts = report_shared_mask_problems(
        [empty, fine, outside, empty], [2, 3, 1, 4],
        ['ref_id=1 ann_id=1', 'ref_id=2 ann_id=2', 'ref_id=3 ann_id=3',
         'ref_id=4 ann_id=4'], 'toy')
    assert counts == {'empty': 6, 'outside the image': 1}


def test_mask_warnings_equal_the_per_sample_report(refer_data_root, tmp_path,
                                                   monkeypatch):
    """Refs with empty / outside masks: the dataset's warnings are those of
    report_mask_problems over the full per-sentence infos."""
    ann_file = osp.join(refer_data_root, 'refcoco', 'instances.json')
    with open(ann_file, encoding='utf-8') as f:
        coco = json.load(f)
    expected = _expected_infos(refer_data_root)
    by_ann = {a['id']: a for a in coco['annotations']}
    ref_anns = list(dict.fromkeys(i['ann_id'] for i in expected))
    assert len(ref_anns) >= 3
    by_ann[ref_anns[0]]['segmentation'] = [[3, 3, 3, 3, 3, 3]]  # empty
    by_ann[ref_anns[2]]['segmentation'] = [[-30, -30, -20, -30, -20, -20]]
    bad_file = str(tmp_path / 'instances.json')
    with open(bad_file, 'w', encoding='utf-8') as f:
        json.dump(coco, f)

    messages = _captured_warnings(monkeypatch)
    ds = RefCOCODataset(data_root=refer_data_root, ann_file=bad_file,
                        pipeline=[])
    expected = _expected_infos(refer_data_root, ann_file=bad_file)
    _assert_infos(ds, expected)
    got, messages[:] = list(messages), []
    counts = report_mask_problems(expected, 'refcoco_train')
    assert got == messages and len(got) == 2
    sentences_of = [sum(i['ann_id'] == ann for i in expected)
                    for ann in ref_anns]
    assert counts == {'empty': sentences_of[0],
                      'outside the image': sentences_of[2]}
    assert f'{sentences_of[0]} of {len(expected)} samples' in got[0]


def test_check_images_sees_every_image(refer_data_root, tmp_path,
                                       monkeypatch):
    messages = _captured_warnings(monkeypatch)
    expected = _expected_infos(refer_data_root)
    RefCOCODataset(data_root=refer_data_root, check_images=True)
    num_images = len({i['img_path'] for i in expected})
    assert messages[-1] == (f'refcoco_train: checked {num_images} image '
                            'headers')
    with pytest.raises(OSError, match=f'{num_images} of {num_images} images'):
        RefCOCODataset(data_root=refer_data_root, check_images=True,
                       data_prefix=dict(img_path=str(tmp_path)))
