"""FSDP training of the large models through MMEngine's FlexibleRunner
(issue 12, "Beyond one machine").

What a CPU can check: the FSDP configs load and build a FlexibleRunner
with MMEngine's FSDPStrategy; the wrap policy selects exactly the
transformer blocks of BEiT-3 and RISCLIP; tools/train.py trains, saves and
resumes through a FlexibleRunner (single-device strategy) with mmris'
loop, sampler and hooks. Sharding itself needs CUDA (MMEngine's FSDP
wrapper places each shard on ``cuda:LOCAL_RANK``) and is not run here.
"""
import os.path as osp

import pytest
import torch
from beit3_test_utils import tiny_beit3_cfg
from e2e_utils import REPO, run_tool, write_toy_config
from mmengine.config import Config
from mmengine.registry import FUNCTIONS
from risclip_test_utils import small_model_cfg

import mmris  # noqa: F401
from mmris.engine.fsdp_wrap_policy import wrap_blocks_policy
from mmris.registry import MODELS
from mmris.utils import build_runner, register_all_modules

FSDP_CONFIGS = {
    'configs/shared_ris/fsdp/'
    'shared-ris_beit3-l_8xb14-35e_refcoco-480x480_fsdp.py':
    ('BEiT3', ('BEiT3Layer', )),
    'configs/risclip/fsdp/'
    'risclip-l_stage1_4xb8-60e_refcoco-560x560_fsdp.py':
    ('RISCLIPBackbone', ('AdaptedCLIPBlock', 'CrossModalFeatureExtraction')),
}


@pytest.mark.parametrize('path', sorted(FSDP_CONFIGS))
def test_fsdp_config_builds_flexible_runner(path, tmp_path):
    from mmengine._strategy import FSDPStrategy
    from mmengine.runner import FlexibleRunner
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(osp.join(REPO, path))
    backbone, blocks = FSDP_CONFIGS[path]
    assert cfg.model.backbone.type == backbone
    assert cfg.model.backbone.with_cp is True
    assert cfg.optim_wrapper.type == 'AutoAmpOptimWrapper'
    assert cfg.optim_wrapper.use_fsdp is True
    wrapper = cfg.strategy.model_wrapper
    assert wrapper.use_orig_params is True
    assert tuple(wrapper.auto_wrap_policy.block_names) == blocks
    assert cfg.strategy.state_dict_cfg == 'full'
    if backbone == 'BEiT3':  # SyncBN: FSDPStrategy ignores cfg.sync_bn
        assert cfg.model.decode_head.norm_cfg.type == 'SyncBN'
    # the dotted policy path resolves the way MMEngine's FSDP wrapper
    # looks it up
    with FUNCTIONS.switch_scope_and_registry(None):
        assert FUNCTIONS.get(
            wrapper.auto_wrap_policy.type) is wrap_blocks_policy
    cfg.work_dir = str(tmp_path)
    cfg.launcher = 'none'
    runner = build_runner(cfg)
    assert isinstance(runner, FlexibleRunner)
    assert isinstance(runner.strategy, FSDPStrategy)
    assert runner.strategy.model_wrapper['use_orig_params'] is True
    assert runner._compile is False
    # `compile = True` (docs/speed.md) reaches the FlexibleRunner too
    cfg.compile = dict(mode='max-autotune')
    assert build_runner(cfg)._compile == dict(mode='max-autotune')


def _wrapped(model, names):
    return [
        m for m in model.modules()
        if wrap_blocks_policy(m, False, 0, block_names=names)
    ]


def test_wrap_policy_selects_the_blocks():
    torch.manual_seed(0)
    beit3 = MODELS.build(tiny_beit3_cfg())
    units = _wrapped(beit3, ('BEiT3Layer', ))
    assert units == list(beit3.encoder.layers)
    risclip = MODELS.build(small_model_cfg(stage=1)['backbone'])
    units = _wrapped(risclip,
                     ('AdaptedCLIPBlock', 'CrossModalFeatureExtraction'))
    expected = (list(risclip.visual_blocks) + list(risclip.text_blocks) +
                list(risclip.cfe))
    assert {id(m) for m in units} == {id(m) for m in expected}
    assert len(units) == 4 + 3 + 2
    assert wrap_blocks_policy(beit3, True, 0, ('BEiT3Layer', ))  # recurse
    with pytest.raises(TypeError, match='block_names'):
        wrap_blocks_policy(beit3, False, 0, block_names='BEiT3Layer')


def test_train_with_a_strategy_uses_flexible_runner(refer_data_root,
                                                    tmp_path):
    """tools/train.py with a `strategy` (single device here, FSDP on GPUs)
    trains, saves and resumes through MMEngine's FlexibleRunner."""
    cfg = write_toy_config(str(tmp_path / 'toy.py'), refer_data_root,
                           max_epochs=1)
    with open(cfg, 'a') as f:
        f.write("strategy = dict(type='SingleDeviceStrategy')\n")
    work = str(tmp_path / 'run')
    proc = run_tool(['tools/train.py', cfg, '--work-dir', work])
    log = proc.stdout + proc.stderr
    assert 'RISEpochBasedTrainLoop' in open(osp.join(work, 'toy.py')).read()
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))
    assert 'Epoch(train)' in log and 'mIoU' in log
    # resuming a finished run loads the checkpoint and trains nothing
    proc = run_tool(['tools/train.py', cfg, '--work-dir', work, '--resume'])
    log = proc.stdout + proc.stderr
    assert 'resumed epoch: 1' in log, log[-3000:]
