"""Full-size RISCLIP from the shipped configs (random weights).

Parameter counts (Shared-RIS Table VI measures RISCLIP-B at 375 M; the
reading of configs/risclip/README.md gives 374.75 M):

=========================================  ============  ============
part                                        RISCLIP-B     RISCLIP-L
=========================================  ============  ============
CLIP (frozen; positions as buffers)         208,125,568   427,294,208
Adapters (2 per layer, both towers)          29,190,144    64,656,384
attention temperatures                               23            35
CFE x 6                                      31,514,112    44,894,208
SKE x 6 + grounding scale / bias             78,812,162   113,448,962
Refiner decoder                              27,106,689    35,402,753
total                                       374,748,698   685,696,550
stage 1 trainable (all but CLIP, decoder)   139,516,441   222,999,589
stage 2 trainable (decoder)                  27,106,689    35,402,753
=========================================  ============  ============

Counts come from meta-device builds (no memory, no time); the training steps
build RISCLIP-B for real and run one step of each stage on CPU. The step
runs at ``MMRIS_RISCLIP_STEP_SIZE`` (default 224 = 14x14 tokens, the model
and its weights are the full-size ones; positions are resized on the fly):
at the config's 640x640 one CPU step takes minutes (stage 1: about 2.5 min,
stage 2: about 4.5 min on a loaded 2-core machine, 1.4 TMAC per forward;
measured 143 s and 265 s, peak memory 6.6 GB, both passing with
``MMRIS_RISCLIP_STEP_SIZE=640``).
"""
import os

import pytest
import torch
from mmengine.config import Config

from risclip_test_utils import make_samples
from mmris.registry import MODELS
from mmris.utils import register_all_modules

pytestmark = pytest.mark.full_size

CFG_DIR = os.path.join(os.path.dirname(__file__), '..', '..', 'configs',
                       'risclip')
B1 = 'risclip-b_stage1_4xb8-60e_refcoco-640x640.py'
B2 = 'risclip-b_stage2_4xb8-1e_refcoco-640x640.py'
L1 = 'risclip-l_stage1_4xb8-60e_refcoco-560x560.py'
L2 = 'risclip-l_stage2_4xb8-1e_refcoco-560x560.py'
STEP_SIZE = int(os.environ.get('MMRIS_RISCLIP_STEP_SIZE', 224))


def _cfg(name):
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(os.path.join(CFG_DIR, name))
    cfg.model.backbone.pretrained = None
    return cfg


def _meta_model(name):
    import open_clip
    cfg = _cfg(name)
    cfg.model.backbone.model_cfg = open_clip.get_model_config(
        cfg.model.backbone.model_name)
    with torch.device('meta'):
        return MODELS.build(cfg.model)


def _count(params):
    return sum(p.numel() for p in params)


@pytest.mark.parametrize('stage1,stage2,expected', [
    (B1, B2, dict(total=374_748_698, clip=208_125_568, adapters=29_190_144,
                  temperature=23, cfe=31_514_112, ske=78_812_162,
                  decoder=27_106_689, stage1=139_516_441, paper=375.0e6)),
    (L1, L2, dict(total=685_696_550, clip=427_294_208, adapters=64_656_384,
                  temperature=35, cfe=44_894_208, ske=113_448_962,
                  decoder=35_402_753, stage1=222_999_589, paper=686.3e6)),
])
def test_parameter_counts(stage1, stage2, expected):
    model = _meta_model(stage1)
    bb = model.backbone
    total = _count(model.parameters())
    assert total == expected['total']
    # 375 M: Shared-RIS Table VI (B); 686.3 M: the reference reading (L)
    assert abs(total - expected['paper']) / expected['paper'] < 0.01
    assert _count(p for _, p in bb.clip_parameters()) == expected['clip']
    assert _count(p for n, p in bb.named_parameters()
                  if 'adapter' in n) == expected['adapters']
    assert _count(p for n, p in bb.named_parameters()
                  if 'temperature' in n) == expected['temperature']
    assert _count(bb.cfe.parameters()) == expected['cfe']
    assert _count(model.neck.parameters()) == expected['ske']
    assert _count(model.decode_head.parameters()) == expected['decoder']
    trainable = _count(p for p in model.parameters() if p.requires_grad)
    assert trainable == expected['stage1']
    # the paper-reading's "trainable" 166.6 M (B) = stage 1 + stage 2
    assert trainable + expected['decoder'] == total - expected['clip']
    model2 = _meta_model(stage2)
    assert _count(p for p in model2.parameters()
                  if p.requires_grad) == expected['decoder']
    assert _count(model2.parameters()) == total


def _clone_state(model, prefix=''):
    return {k: v.detach().clone() for k, v in model.state_dict().items()
            if k.startswith(prefix)}


def test_risclip_b_stage1_training_step_on_cpu():
    from mmengine.optim import build_optim_wrapper
    cfg = _cfg(B1)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    assert model.backbone.grid_size == (40, 40)
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    in_optim = {id(p) for g in optim.optimizer.param_groups
                for p in g['params']}
    clip = dict(model.backbone.clip_parameters())
    assert not in_optim & {id(p) for p in clip.values()}
    assert not in_optim & {id(p) for p in model.decode_head.parameters()}
    assert _count(p for g in optim.optimizer.param_groups
                  for p in g['params']) == 139_516_441
    assert optim.optimizer.defaults['lr'] == 5e-5
    before = {n: p.detach().clone() for n, p in clip.items()}
    adapter = model.backbone.visual_blocks[3].adapter_mlp.up.weight
    adapter_before = adapter.detach().clone()
    model.train()
    samples = make_samples(STEP_SIZE, texts=('the man on the left', ))
    losses = model.loss(torch.randn(1, 3, STEP_SIZE, STEP_SIZE), samples)
    loss = sum(v for k, v in losses.items() if k.startswith('loss'))
    optim.update_params(loss)
    assert torch.isfinite(loss)
    for name, p in clip.items():
        assert p.grad is None and torch.equal(p, before[name]), name
    assert not torch.equal(adapter, adapter_before)


def test_risclip_b_stage2_training_step_on_cpu():
    from mmengine.optim import build_optim_wrapper
    cfg = _cfg(B2)
    assert cfg.model.decode_head.stage == 'refiner'
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    assert type(optim).__name__ == 'OptimWrapper'  # FP32 (Table A1)
    in_optim = [p for g in optim.optimizer.param_groups for p in g['params']]
    assert {id(p) for p in in_optim} == {
        id(p) for p in model.decode_head.decoder.parameters()}
    before = _clone_state(model)
    model.train()
    assert not model.backbone.training and not model.neck.training
    samples = make_samples(STEP_SIZE, texts=('the man on the left', ))
    losses = model.loss(torch.randn(1, 3, STEP_SIZE, STEP_SIZE), samples)
    loss = sum(v for k, v in losses.items() if k.startswith('loss'))
    optim.update_params(loss)
    assert torch.isfinite(loss)
    changed = [k for k, v in model.state_dict().items()
               if not torch.equal(v, before[k])]
    assert changed
    assert all(k.startswith('decode_head.decoder.') for k in changed), [
        k for k in changed if not k.startswith('decode_head.decoder.')][:5]
    assert 'decode_head.decoder.stages.0.0.conv.weight' in changed


def test_risclip_b_flops_at_640_match_shared_ris_table_vi():
    """1380 GFLOPs (Shared-RIS Table VI, fvcore-style: one multiply-add
    counts once) against the measured multiply-adds of one 640x640
    forward (Refiner included)."""
    from torch.utils.flop_counter import FlopCounterMode
    model = _meta_model(B2)
    model.eval()
    images = torch.randn(1, 3, 640, 640, device='meta')
    metas = [dict(text='the man on the left in a red shirt',
                  img_shape=(640, 640), batch_input_shape=(640, 640))]
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model.encode_decode(images, metas)
    macs = counter.get_total_flops() / 2
    assert abs(macs / 1e9 - 1380) / 1380 < 0.02, macs / 1e9
    convs = counter.get_flop_counts()['Global'][torch.ops.aten.convolution]
    assert 0.70 < convs / 2 / macs < 0.73  # the Refiner: ~72 % (reference)
