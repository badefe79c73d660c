"""AutoAmpOptimWrapper's choices (issue 12, GPU speed): bfloat16 where the
GPU has it, float16 with dynamic loss scaling otherwise, float32 on a CPU,
an explicit dtype wins; fused Adam / AdamW only with every parameter on a
CUDA device. GPU capabilities are monkeypatched so the selection logic runs
on a CPU."""
import copy
import logging

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.optim import AmpOptimWrapper, OptimWrapper

import mmris.engine.amp_fallback as amp
from mmris.engine import (AutoAmpOptimWrapper, maybe_fuse_optimizer,
                          select_amp_settings)


def _gpu(monkeypatch, bf16: bool) -> None:
    """Pretend a CUDA GPU with or without bfloat16 is present."""
    import mmengine.optim.optimizer.amp_optimizer_wrapper as mm_amp
    monkeypatch.setattr(amp, 'is_cuda_available', lambda: True)
    monkeypatch.setattr(mm_amp, 'is_cuda_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda *a, **k: bf16)


def _cpu(monkeypatch) -> None:
    for name in ('is_cuda_available', 'is_npu_available', 'is_mlu_available',
                 'is_musa_available'):
        monkeypatch.setattr(amp, name, lambda: False)


def test_select_bf16_on_ampere_and_later(monkeypatch):
    _gpu(monkeypatch, bf16=True)
    dtype, scale = select_amp_settings()
    assert dtype == 'bfloat16'
    assert scale == dict(enabled=False)  # bf16 needs no loss scaling


def test_select_fp16_with_scaling_on_older_gpus(monkeypatch):
    _gpu(monkeypatch, bf16=False)
    assert select_amp_settings() == ('float16', 'dynamic')


def test_explicit_dtype_and_scale_win(monkeypatch):
    _gpu(monkeypatch, bf16=True)
    assert select_amp_settings('float16') == ('float16', 'dynamic')
    assert select_amp_settings(torch.float16, 512.) == (torch.float16, 512.)
    # a static scale given for bf16 is honoured, 'dynamic' is dropped
    assert select_amp_settings('bfloat16', 512.) == ('bfloat16', 512.)
    assert select_amp_settings(torch.bfloat16)[1] == dict(enabled=False)
    _gpu(monkeypatch, bf16=False)
    assert select_amp_settings('bfloat16')[0] == 'bfloat16'


def test_select_without_cuda_keeps_device_default(monkeypatch):
    _cpu(monkeypatch)
    assert select_amp_settings() == (None, 'dynamic')


def _adamw(model: nn.Module, **kwargs) -> torch.optim.AdamW:
    return torch.optim.AdamW([
        dict(params=model[0].parameters(), lr=1e-3),
        dict(params=model[1].parameters(), lr=1e-4, weight_decay=0.)
    ],
                             betas=(0.9, 0.98),
                             weight_decay=5e-4,
                             **kwargs)


def _model() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 2))


def test_wrapper_builds_bf16_amp_on_gpu(monkeypatch):
    _gpu(monkeypatch, bf16=True)
    seen = {}

    def spy(**kwargs):
        seen.update(kwargs)
        return AmpOptimWrapper(**kwargs)

    monkeypatch.setattr(amp, 'AmpOptimWrapper', spy)
    wrapper = AutoAmpOptimWrapper(
        optimizer=_adamw(_model()), loss_scale='dynamic')
    assert isinstance(wrapper, AmpOptimWrapper)
    assert wrapper.cast_dtype is torch.bfloat16
    # (GradScaler disables itself without CUDA: check what it was asked)
    assert seen['loss_scale'] == dict(enabled=False)
    _gpu(monkeypatch, bf16=False)
    wrapper = AutoAmpOptimWrapper(optimizer=_adamw(_model()))
    assert wrapper.cast_dtype is torch.float16
    assert seen['loss_scale'] == 'dynamic'
    _gpu(monkeypatch, bf16=True)
    wrapper = AutoAmpOptimWrapper(
        optimizer=_adamw(_model()), dtype='float16')
    assert wrapper.cast_dtype is torch.float16


def test_wrapper_is_float32_on_cpu(monkeypatch):
    _cpu(monkeypatch)
    logger = MMLogger.get_current_instance()
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        wrapper = AutoAmpOptimWrapper(
            optimizer=_adamw(_model()),
            loss_scale='dynamic',
            dtype='bfloat16',
            clip_grad=dict(max_norm=1.0))
    finally:
        logger.removeHandler(handler)
    assert type(wrapper) is OptimWrapper
    assert any('float32' in r.getMessage() for r in records)
    assert not wrapper.optimizer.defaults['fused']  # never fused on a CPU


def test_fuse_only_on_cuda(monkeypatch):
    opt = _adamw(_model())
    assert maybe_fuse_optimizer(opt, 'auto') is opt  # CPU parameters
    assert maybe_fuse_optimizer(opt, True) is opt  # warned, left as is
    monkeypatch.setattr(amp, '_all_on_cuda', lambda optimizer: True)
    assert maybe_fuse_optimizer(opt, False) is opt
    fused = maybe_fuse_optimizer(opt, 'auto')
    assert fused is not opt and type(fused) is torch.optim.AdamW
    assert fused.defaults['fused'] and fused.defaults['betas'] == (0.9, 0.98)
    assert [g['lr'] for g in fused.param_groups] == [1e-3, 1e-4]
    assert [g['weight_decay'] for g in fused.param_groups] == [5e-4, 0.]
    assert all(g['fused'] for g in fused.param_groups)


def test_fused_step_equals_unfused(monkeypatch):
    """The rebuilt optimizer takes the same step (torch has a CPU fused
    kernel, so the rebuild can be checked here)."""
    monkeypatch.setattr(amp, '_all_on_cuda', lambda optimizer: True)
    ref_model = _model()
    fused_model = copy.deepcopy(ref_model)
    ref = _adamw(ref_model)
    fused = maybe_fuse_optimizer(_adamw(fused_model), 'auto')
    assert fused.defaults['fused']
    x = torch.randn(5, 4)
    for _ in range(3):
        for model, opt in ((ref_model, ref), (fused_model, fused)):
            opt.zero_grad()
            model(x).square().sum().backward()
            opt.step()
    for a, b in zip(ref_model.parameters(), fused_model.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)


def test_fuse_skips_optimizers_without_a_fused_kernel(monkeypatch):
    monkeypatch.setattr(amp, '_all_on_cuda', lambda optimizer: True)
    opt = torch.optim.Adagrad(_model().parameters())
    assert maybe_fuse_optimizer(opt, 'auto') is opt


def test_fuse_rejects_bad_values():
    with pytest.raises(ValueError, match='fused'):
        maybe_fuse_optimizer(_adamw(_model()), 'yes')


def _grads(seed=0):
    from dist_clip_utils import sharded_grads
    return sharded_grads(seed)


@pytest.mark.parametrize('norm_type', [2.0, 1.0, float('inf')])
def test_clip_across_ranks_is_clip_grad_norm_in_one_process(norm_type):
    from mmris.engine import clip_grad_norm_across_ranks_
    ref, ours = _grads(), _grads()
    expected = torch.nn.utils.clip_grad_norm_(ref, 1.5, norm_type)
    total = clip_grad_norm_across_ranks_(ours, 1.5, norm_type)
    torch.testing.assert_close(total, expected)
    for a, b in zip(ref, ours):
        torch.testing.assert_close(b.grad, a.grad)


def test_clip_across_ranks_uses_the_global_norm():
    """Two gloo processes, each holding part of the gradient (as FSDP
    shards), clip with the norm of the whole gradient."""
    import socket

    import torch.multiprocessing as mp
    from dist_clip_utils import clip_worker
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    out = mp.Manager().dict()
    mp.spawn(clip_worker, args=(port, out), nprocs=2, join=True)
    ref = _grads()
    expected = torch.nn.utils.clip_grad_norm_(ref, 1.5)
    assert out[0][0] == pytest.approx(float(expected), rel=1e-6)
    assert out[1][0] == pytest.approx(float(expected), rel=1e-6)
    got = out[0][1] + out[1][1]
    for a, b in zip(ref, got):
        torch.testing.assert_close(b, a.grad)


def test_fsdp_wrapper_clips_across_ranks(monkeypatch):
    from mmris.engine import clip_grad_norm_across_ranks_
    _gpu(monkeypatch, bf16=True)
    wrapper = AutoAmpOptimWrapper(
        optimizer=_adamw(_model()), clip_grad=dict(max_norm=1.0),
        use_fsdp=True)
    assert wrapper.clip_func is clip_grad_norm_across_ranks_
    wrapper = AutoAmpOptimWrapper(
        optimizer=_adamw(_model()), clip_grad=dict(max_norm=1.0))
    assert wrapper.clip_func is torch.nn.utils.clip_grad_norm_
