"""RISInferencer, init_model's strict loading and the demo scripts, on the
toy config with images and expressions made here (gray, BGRA, RGB, float,
non-ASCII)."""
import glob
import json
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch

import mmris  # noqa: F401
from e2e_utils import run_tool, write_toy_config
from mmris.apis import RISInferencer, inference_model, init_model
from mmris.registry import INFERENCERS
from mmris.utils import CheckpointMismatchError


@pytest.fixture(scope='module')
def toy(refer_data_root, tmp_path_factory):
    """A toy config, a checkpoint of it and one of a wider toy model."""
    work = tmp_path_factory.mktemp('inferencer')
    cfg = write_toy_config(str(work / 'toy.py'), refer_data_root)
    torch.manual_seed(0)
    model = init_model(cfg)
    ckpt = str(work / 'toy.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    other = init_model(cfg, cfg_options={
        'model.backbone.channels': (8, 24),
        'model.decode_head.in_channels': 24
    })
    other_ckpt = str(work / 'other.pth')
    state = other.state_dict()
    state['extra.weight'] = torch.zeros(2)
    torch.save(dict(state_dict=state), other_ckpt)
    images = sorted(glob.glob(osp.join(refer_data_root, 'coco', 'train2014',
                                       '*')))[:3]
    return dict(cfg=cfg, ckpt=ckpt, other=other_ckpt, images=images,
                work=work, model=model)


def test_registered_and_matches_inference_model(toy):
    assert INFERENCERS.get('RISInferencer') is RISInferencer
    inferencer = RISInferencer(toy['cfg'], weights=toy['ckpt'],
                               device='cpu', show_progress=False)
    result = inferencer(toy['images'], texts='the object on the left',
                        batch_size=2, return_logits=True)
    preds = result['predictions']
    assert len(preds) == 3 and len(result['visualization']) == 3
    model = init_model(toy['cfg'], toy['ckpt'])
    for path, pred in zip(toy['images'], preds):
        ref = inference_model(model, path, 'the object on the left')
        h, w = mmcv.imread(path).shape[:2]
        assert pred['mask'].shape == (h, w) and pred['mask'].dtype == np.uint8
        np.testing.assert_array_equal(
            pred['mask'], ref.pred_sem_seg.data[0].numpy())
        np.testing.assert_allclose(pred['logits'],
                                   ref.seg_logits.data[0].numpy(), atol=1e-5)
        assert pred['input'] == path


def test_folder_texts_and_outputs(toy, tmp_path):
    folder = osp.dirname(toy['images'][0])
    inferencer = RISInferencer(toy['cfg'], weights=toy['ckpt'],
                               device='cpu', show_progress=False)
    n = len(glob.glob(osp.join(folder, '*')))
    texts = [f'objet numéro {i} à gauche' for i in range(n)]
    out = str(tmp_path / 'out')
    result = inferencer(folder, texts=texts, batch_size=4, out_dir=out)
    assert len(result['predictions']) == n
    names = [p['name'] for p in result['predictions']]
    for name, pred in zip(names, result['predictions']):
        mask = mmcv.imread(osp.join(out, 'pred', f'{name}.png'),
                           flag='unchanged')
        np.testing.assert_array_equal(mask, pred['mask'] * 255)
        assert osp.isfile(osp.join(out, 'vis', f'{name}.png'))
    with pytest.raises(ValueError, match='images but 2 texts'):
        inferencer(folder, texts=['a', 'b'])
    with pytest.raises(ValueError, match='needs texts'):
        inferencer(folder)
    with pytest.raises(ValueError, match='non-empty'):
        inferencer(toy['images'][0], texts='   ')


def test_array_layouts(toy):
    """Gray (H, W) and (H, W, 1), BGRA and RGB arrays give the mask of the
    equivalent BGR image; float and odd shapes are clear errors."""
    inferencer = RISInferencer(toy['cfg'], weights=toy['ckpt'],
                               device='cpu', show_progress=False)
    bgr = mmcv.imread(toy['images'][0])
    gray = mmcv.bgr2gray(bgr)
    gray3 = np.repeat(gray[..., None], 3, axis=2)
    bgra = np.concatenate([bgr, np.full(bgr.shape[:2] + (1, ), 7, np.uint8)],
                          axis=2)
    text = 'the thing'

    def mask(img, **kw):
        return inferencer(img, texts=text, **kw)['predictions'][0]['mask']

    ref = mask(bgr)
    np.testing.assert_array_equal(mask(bgra), ref)
    np.testing.assert_array_equal(mask(bgr[..., ::-1].copy(),
                                       channel_order='rgb'), ref)
    gray_ref = mask(gray3)
    np.testing.assert_array_equal(mask(gray), gray_ref)
    np.testing.assert_array_equal(mask(gray[..., None]), gray_ref)
    with pytest.raises(TypeError, match='uint8'):
        mask(bgr.astype(np.float32) / 255)
    with pytest.raises(ValueError, match='got shape'):
        mask(np.zeros((10, 10, 2), np.uint8))
    with pytest.raises(ValueError, match='channel_order'):
        mask(bgr, channel_order='hsv')


def test_strict_loading(toy):
    """A checkpoint of another model stops with the key lists; the opt-out
    loads what fits."""
    with pytest.raises(CheckpointMismatchError) as info:
        init_model(toy['cfg'], toy['other'])
    msg = str(info.value)
    assert 'unexpected key(s)' in msg and 'extra.weight' in msg
    assert 'mismatched key(s)' in msg and 'checkpoint (24,' in msg
    assert '--non-strict' in msg
    with pytest.raises(CheckpointMismatchError):
        RISInferencer(toy['cfg'], weights=toy['other'], device='cpu')
    model = init_model(toy['cfg'], toy['other'], strict=False)
    assert model is not None
    # the right checkpoint loads exactly
    model = init_model(toy['cfg'], toy['ckpt'])
    for key, value in toy['model'].state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


def test_config_by_name_and_unknown_name():
    from mmris.apis import resolve_config
    assert resolve_config('cris_tiny_synthetic').endswith(
        osp.join('configs', 'cris', 'cris_tiny_synthetic.py'))
    with pytest.raises(FileNotFoundError, match='cris_tiny_synthetic'):
        resolve_config('cris_tiny_synthetc')


def test_demos(toy, tmp_path):
    out = tmp_path / 'demo.png'
    proc = run_tool(['demo/image_demo.py', toy['images'][0],
                     'la chose à droite', toy['cfg'], '--weights',
                     toy['ckpt'], '--out-file', str(out), '--mask-file',
                     str(tmp_path / 'mask.png'), '--device', 'cpu'])
    assert 'overlay written to' in proc.stdout
    drawing = mmcv.imread(str(out))
    h, w = mmcv.imread(toy['images'][0]).shape[:2]
    assert drawing.shape[0] > h and drawing.shape[1] >= w  # band under it
    assert mmcv.imread(str(tmp_path / 'mask.png'),
                       flag='unchanged').shape == (h, w)
    proc = run_tool(['demo/image_demo.py', toy['images'][0], 'x',
                     toy['cfg'], '--weights', toy['other']], check=False)
    assert proc.returncode != 0 and 'unexpected key' in proc.stderr

    pairs = tmp_path / 'pairs.json'
    pairs.write_text(json.dumps([
        dict(image=toy['images'][0], text='the left one'),
        dict(image=toy['images'][0], text='the right one'),
        dict(image=toy['images'][1], text='левый'),
    ], ensure_ascii=False), encoding='utf-8')
    run_tool(['demo/batch_demo.py', str(pairs), toy['cfg'], '--weights',
              toy['ckpt'], '--out-dir', str(tmp_path / 'batch'),
              '--batch-size', '2', '--device', 'cpu'])
    records = json.loads((tmp_path / 'batch' / 'results.json').read_text())
    assert [r['text'] for r in records] == ['the left one', 'the right one',
                                            'левый']
    assert len({r['mask'] for r in records}) == 3  # repeated image: unique
    for record in records:
        assert osp.isfile(record['mask'])
