"""Every analysis tool, the inferencer and the demo on one full-size config
of every method (random weights).

CRIS (ResNet-50), ASDA (ViT-B/16), Shared-RIS (BEiT-3 base), RISCLIP-B
stage 1 and stage 2, and one mixed config are built at full width and depth
by each tool. The forward passes run at ``SIZE`` x ``SIZE`` through the
tools' own ``--input-size`` option (the config's data preprocessor, resize
and the model's ``img_size`` / token grids are set to it; see
:func:`mmris.utils.analysis_utils.set_input_size`), since one full-size
forward of RISCLIP-B stage 2 is 1.3 TFLOPs. BEiT-3's tokenizer reads a tiny
sentencepiece model trained here (``beit3.spm`` is a download).

The tools run in this process (their ``main`` with ``sys.argv`` set), so
each test builds the model once and no interpreter start-up is paid.
"""
import json
import os.path as osp
import re
import runpy
import sys

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config

import mmris  # noqa: F401
from e2e_utils import REPO
from mmris.apis import RISInferencer
from mmris.testing import tiny_spm_path
from mmris.utils.analysis_utils import config_input_size, load_config

pytestmark = pytest.mark.full_size

#: Network input of the forward passes (a multiple of every method's
#: patch / stride and of ASDA's 416 / 26 token grid ratio).
SIZE = 96

CONFIGS = {
    'cris': 'configs/cris/cris_r50_8xb8-50e_refcoco-416x416.py',
    'asda': 'configs/asda/asda_vitb_refcoco.py',
    'shared_ris':
    'configs/shared_ris/shared-ris_beit3-b_8xb14-35e_refcoco-480x480.py',
    'risclip_stage1':
    'configs/risclip/risclip-b_stage1_4xb8-60e_refcoco-640x640.py',
    'risclip_stage2':
    'configs/risclip/risclip-b_stage2_4xb8-1e_refcoco-640x640.py',
    'mix': 'configs/mix/wgdahead_r50-crisneck_2xb14-30e_refcoco-416x416.py',
}
#: Every full-size model here has 145 M to 375 M parameters; at SIZE only
#: the positional tables and ASDA's token-grid Linear (WCG) shrink.
MIN_PARAMS = 1.4e8


def _options(name: str) -> list:
    """``--cfg-options`` a config needs here (BEiT-3's tokenizer model)."""
    if name == 'shared_ris':
        return [f'model.backbone.spm_path={tiny_spm_path()}']
    return []


def _run(script: str, args: list, capsys) -> str:
    """Run a tool's ``__main__`` in this process; return its stdout."""
    argv = sys.argv
    sys.argv = [script] + [str(a) for a in args]
    try:
        runpy.run_path(osp.join(REPO, script), run_name='__main__')
    finally:
        sys.argv = argv
    return capsys.readouterr().out


def _with_options(args: list, name: str) -> list:
    opts = _options(name)
    return args + (['--cfg-options'] + opts if opts else [])


@pytest.mark.parametrize('name', list(CONFIGS))
def test_get_flops(name, tmp_path, capsys):
    out = tmp_path / 'flops.json'
    text = _run('tools/analysis_tools/get_flops.py', _with_options(
        [CONFIGS[name], '--input-size', SIZE, SIZE, '--depth', 1,
         '--text', 'the man on the left', '--json', out], name), capsys)
    info = json.load(open(out))
    assert info['input_shape'] == [1, 3, SIZE, SIZE]
    assert info['params'] > MIN_PARAMS and info['flops'] > 1e8
    modules = info['modules']
    # the table and the json name the parts, each with FLOPs, and they
    # account for all of them
    assert modules['backbone'] > 0
    head = [k for k in modules if k.startswith('decode_head')]
    # the table is rooted at the segmentor and names its parts
    assert re.search(r'\|\s*segmentor\s*\|', text), text
    for part in ('backbone', 'neck', 'decode_head'):
        if part in modules:
            assert f'|  {part}' in text, text
    # the parts hold (nearly) all FLOPs; the rest is the segmentor's own
    assert 0.98 * info['flops'] <= sum(modules.values()) <= info['flops']
    if name == 'risclip_stage1':  # the Locator: the decoder is not run
        assert modules.get('decode_head', 0) == 0
    else:
        assert modules['decode_head'] > 0


@pytest.mark.parametrize('name', list(CONFIGS))
def test_benchmark(name, tmp_path, capsys):
    out = tmp_path / 'bench.json'
    text = _run('tools/analysis_tools/benchmark.py', _with_options(
        [CONFIGS[name], '--input-size', SIZE, SIZE, '--shape', 50, 70,
         '--warmup', 1, '--iters', 1, '--batch-size', 1, '--device', 'cpu',
         '--json', out], name), capsys)
    info = json.load(open(out))
    assert info['images_per_s'] > 0 and 'images/s' in text
    assert info['image_shape'] == [50, 70]
    assert info['input_shape'] == [SIZE, SIZE]  # letterboxed


@pytest.mark.parametrize('name', list(CONFIGS))
def test_print_config_and_browse(name, tmp_path, capsys, refer_data_root):
    path = CONFIGS[name]
    saved = tmp_path / 'full.py'
    text = _run('tools/misc/print_config.py',
                [path, '--save-path', saved, '--cfg-options',
                 'train_cfg.max_epochs=3'], capsys)
    cfg = Config.fromfile(path)
    assert f"type='{cfg.model.backbone.type}'" in text
    dumped = Config.fromfile(str(saved))
    assert dumped.train_cfg.max_epochs == 3
    for part in ('backbone', 'decode_head'):
        assert dumped.model[part] == cfg.model[part]
    for phase in ('train', 'test'):
        folder = tmp_path / phase
        text = _run('tools/misc/browse_dataset.py',
                    [path, '--phase', phase, '--num', 2, '--output-dir',
                     folder, '--cfg-options',
                     f'{phase}_dataloader.dataset.data_root='
                     f'{refer_data_root}'], capsys)
        files = sorted(folder.glob('*.png'))
        assert len(files) == 2 and str(folder) in text
        # the image after the config's own (letterboxing) pipeline, and a
        # band for the expression under it
        drawing = mmcv.imread(str(files[0]))
        height, width = config_input_size(cfg)
        assert drawing.shape[1] == width and drawing.shape[0] > height


@pytest.mark.parametrize('name', list(CONFIGS))
def test_inferencer_and_demo(name, tmp_path, capsys):
    """Gray (H, W), (H, W, 1), BGRA and non-ASCII expressions through the
    inferencer; its random weights saved with the config and loaded
    (strictly) by demo/image_demo.py."""
    cfg = load_config(CONFIGS[name], input_size=(SIZE, SIZE))
    options = dict(o.split('=', 1) for o in _options(name))
    torch.manual_seed(0)
    inferencer = RISInferencer(cfg, device='cpu', show_progress=False,
                               cfg_options=options)
    rng = np.random.default_rng(0)
    images = [
        rng.integers(0, 256, (37, 53), dtype=np.uint8),
        rng.integers(0, 256, (41, 29, 1), dtype=np.uint8),
        rng.integers(0, 256, (30, 44, 4), dtype=np.uint8),
    ]
    texts = ['the gray one', 'the one on the left',
             'la pomme rouge à gauche, 左边的苹果']
    result = inferencer(images, texts=texts, batch_size=3,
                        out_dir=str(tmp_path / 'out'), return_logits=True)
    for image, pred in zip(images, result['predictions']):
        assert pred['mask'].shape == image.shape[:2]
        assert pred['logits'].shape == image.shape[:2]
        assert set(np.unique(pred['mask'])) <= {0, 1}
        assert osp.isfile(tmp_path / 'out' / 'pred' / f'{pred["name"]}.png')
    assert [v.shape[2] for v in result['visualization']] == [3, 3, 3]
    # the (H, W, 1) image is the gray image's layout: same mask as (H, W)
    second = inferencer(images[1][..., 0], texts=texts[1])
    np.testing.assert_array_equal(second['predictions'][0]['mask'],
                                  result['predictions'][1]['mask'])

    cfg_file = str(tmp_path / 'cfg.py')
    cfg.dump(cfg_file)
    ckpt = str(tmp_path / 'random.pth')
    torch.save(dict(state_dict=inferencer.model.state_dict(),
                    meta=dict(cfg=cfg.pretty_text)), ckpt)
    expected = inferencer(images[0], texts=texts[2])['predictions'][0]['mask']
    del inferencer
    image = str(tmp_path / 'gray.png')
    mmcv.imwrite(images[0], image)
    text = _run('demo/image_demo.py', _with_options([
        image, texts[2], cfg_file, '--weights', ckpt, '--device', 'cpu',
        '--out-file', tmp_path / 'demo.png', '--mask-file',
        tmp_path / 'mask.png'
    ], name), capsys)
    mask = mmcv.imread(str(tmp_path / 'mask.png'), flag='unchanged')
    assert mask.shape == images[0].shape
    # same weights, image and text: the demo's mask is the inferencer's
    np.testing.assert_array_equal(mask, expected * 255)
    assert osp.isfile(tmp_path / 'demo.png') and 'overlay written' in text


def test_set_input_size():
    """The input size reaches the preprocessor, every letterbox, the
    backbone's img_size and the head's token grid; a grid that does not
    scale evenly is an error naming it."""
    from mmris.utils.analysis_utils import set_input_size
    cfg = load_config(CONFIGS['asda'])
    assert config_input_size(cfg) == (416, 416)
    assert cfg.model.decode_head.feat_size == 26
    set_input_size(cfg, (96, 64))
    assert config_input_size(cfg) == (96, 64)
    assert tuple(cfg.model.backbone.img_size) == (96, 64)
    assert tuple(cfg.model.decode_head.feat_size) == (6, 4)
    for key in ('train_dataloader', 'test_dataloader'):
        steps = [t for t in cfg[key].dataset.pipeline
                 if t.type in ('LetterboxResize', 'RandomAffineLetterbox')]
        assert steps and all(tuple(t.scale) == (96, 64) for t in steps)
    with pytest.raises(ValueError, match='model.decode_head.feat_size'):
        set_input_size(load_config(CONFIGS['asda']), (100, 100))
    # BEiT-3's int img_size stays an int for a square input
    cfg = load_config(CONFIGS['shared_ris'], input_size=(64, 64))
    assert cfg.model.backbone.img_size == 64


def test_inferencer_cfg_options_are_checked(refer_data_root, tmp_path):
    """RISInferencer's cfg_options reach the model; a typo in a top-level
    key is an error with the closest key, not a silently ignored option."""
    from e2e_utils import write_toy_config
    cfg = write_toy_config(str(tmp_path / 'toy.py'), refer_data_root)
    inferencer = RISInferencer(cfg, device='cpu', show_progress=False,
                               cfg_options={'model.test_cfg.threshold': 0.9})
    assert inferencer.model.test_cfg.threshold == 0.9
    with pytest.raises(KeyError, match="Did you mean 'model'"):
        RISInferencer(cfg, device='cpu', cfg_options={'modle.x': 1})
