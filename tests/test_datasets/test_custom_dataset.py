"""RISCustomDataset: users' own data in JSON / JSON lines."""
import json

import numpy as np
import pytest
from mmengine.registry import DefaultScope
from PIL import Image
from pycocotools import mask as mask_utils

from mmris.datasets import RISCustomDataset, load_ref_mask
from mmris.registry import DATASETS

W, H = 29, 41  # odd, portrait


def _object_mask():
    mask = np.zeros((H, W), np.uint8)
    mask[5:30, 3:20] = 1
    return mask


def _uncompressed(mask):
    flat = mask.flatten(order='F')
    changes = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat[0] == 1:
        counts = [0] + counts
    return dict(size=[H, W], counts=counts)


@pytest.fixture
def custom_root(tmp_path):
    (tmp_path / 'images').mkdir()
    (tmp_path / 'masks').mkdir()
    Image.new('RGB', (W, H), (10, 20, 30)).save(tmp_path / 'images/a.jpg')
    Image.new('L', (W, H), 128).save(tmp_path / 'images/b.jpg')
    mask = _object_mask()
    Image.fromarray(mask * 255).save(tmp_path / 'masks/a.png')
    compressed = mask_utils.encode(np.asfortranarray(mask))
    polygon = [[3.0, 5.0, 19.0, 5.0, 19.0, 29.0, 3.0, 29.0],
               [22.0, 32.0, 27.0, 32.0, 25.0, 39.0]]
    records = [
        dict(image='images/a.jpg', text='the box on the left', mask=polygon,
             id=17),
        dict(image=str(tmp_path / 'images/b.jpg'), text='  grey thing ',
             mask=_uncompressed(mask)),
        dict(image='images/a.jpg', text='café à gauche',
             mask=dict(size=[H, W], counts=compressed['counts'].decode())),
        dict(image='images/b.jpg', text='the mask image', mask='masks/a.png',
             image_id=5, category_id=3),
    ]
    return tmp_path, records, polygon


def _build(root, records, fmt):
    if fmt == 'json':
        path = root / 'anns.json'
        path.write_text(json.dumps(records, ensure_ascii=False))
    else:
        path = root / 'anns.jsonl'
        path.write_text('\n'.join(json.dumps(r) for r in records) + '\n')
    return DATASETS.build(
        dict(
            type='RISCustomDataset',
            ann_file=path.name,
            data_root=str(root),
            data_prefix=dict(img_path='', mask_path='')))


@pytest.mark.parametrize('fmt', ['json', 'jsonl'])
def test_all_mask_forms(custom_root, fmt):
    root, records, polygon = custom_root
    ds = _build(root, records, fmt)
    assert isinstance(ds, RISCustomDataset)
    assert len(ds) == 4
    infos = [ds.get_data_info(i) for i in range(4)]
    assert [i['ref_id'] for i in infos] == [17, 1, 2, 3]
    assert [i['sent_id'] for i in infos] == [17, 1, 2, 3]
    assert infos[1]['text'] == 'grey thing'
    assert infos[2]['text'] == 'café à gauche'
    assert infos[3]['img_id'] == 5 and infos[3]['category_id'] == 3
    assert infos[0]['category_id'] == -1
    assert all(i['split'] == 'custom' for i in infos)
    for info in infos:
        assert Image.open(info['img_path']).size == (W, H)

    # Polygon: size read from the image header.
    assert infos[0]['ref_mask'] == dict(segmentation=polygon, height=H,
                                        width=W)
    expected_poly = mask_utils.decode(
        mask_utils.merge(mask_utils.frPyObjects(polygon, H, W)))
    np.testing.assert_array_equal(load_ref_mask(infos[0]['ref_mask']),
                                  expected_poly)
    # RLE (uncompressed and compressed) and PNG give the object mask.
    assert infos[1]['ref_mask']['height'] == H
    assert set(infos[3]['ref_mask']) == {'png'}
    for info in infos[1:]:
        mask = load_ref_mask(info['ref_mask'])
        assert mask.dtype == np.uint8
        np.testing.assert_array_equal(mask, _object_mask())


def test_pipeline_decodes_masks(custom_root):
    root, records, _ = custom_root
    path = root / 'anns.json'
    path.write_text(json.dumps(records))
    # Pipelines resolve in the current scope, as under a Runner.
    with DefaultScope.overwrite_default_scope('mmris'):
        ds = RISCustomDataset(
            ann_file=str(path),
            data_root=str(root),
            pipeline=[dict(type='LoadRefImageFromFile'),
                      dict(type='LoadRefMask')])
    for idx in range(len(ds)):
        assert ds[idx]['gt_seg_map'].shape == (H, W)


def test_height_width_from_record(tmp_path):
    records = [dict(image='missing.jpg', text='x', height=10, width=12,
                    mask=[1, 1, 8, 1, 8, 8])]
    (tmp_path / 'a.json').write_text(json.dumps(records))
    ds = RISCustomDataset(ann_file=str(tmp_path / 'a.json'))
    assert ds.get_data_info(0)['ref_mask']['height'] == 10
    assert ds.get_data_info(0)['ref_mask']['segmentation'] == [[1, 1, 8, 1,
                                                                8, 8]]


@pytest.mark.parametrize('record,match', [
    (dict(image='a.jpg', text='x'), 'missing field'),
    (dict(image='a.jpg', text=' ', mask='m.png'), 'non-empty'),
    (dict(image='a.jpg', text='x', mask=[[1, 2, 3, 4]]), 'polygon'),
    (dict(image='a.jpg', text='x', mask=dict(counts=[1])), 'size'),
    (dict(image='a.jpg', text='x', mask=5), 'mask'),
])
def test_bad_records(tmp_path, record, match):
    path = tmp_path / 'bad.json'
    path.write_text(json.dumps([record]))
    with pytest.raises(ValueError, match=match) as e:
        RISCustomDataset(ann_file=str(path))
    assert 'record 0' in str(e.value) and 'bad.json' in str(e.value)


def test_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match='ann_file'):
        RISCustomDataset(ann_file=str(tmp_path / 'none.json'))
    path = tmp_path / 'a.json'
    path.write_text(json.dumps([dict(image='gone.jpg', text='x',
                                     mask=[1, 1, 8, 1, 8, 8])]))
    with pytest.raises(FileNotFoundError, match='gone.jpg'):
        RISCustomDataset(ann_file=str(path))
