"""Channels-last ResNet tower of CLIPResNet (issue 12, GPU speed): the same
outputs and gradients in NHWC as in NCHW, NHWC really used inside, outputs
contiguous NCHW, and 'auto' off for CPU inputs."""
import copy
from types import SimpleNamespace

import pytest
import torch
from cris_test_utils import TINY_CLIP, randomize_

import mmris  # noqa: F401
from mmris.models import CLIPResNet


def _pair():
    torch.manual_seed(0)
    ref = CLIPResNet(model_cfg=TINY_CLIP, context_length=8,
                     channels_last=False)
    randomize_(ref)
    nhwc = copy.deepcopy(ref)
    nhwc.channels_last = True
    return ref, nhwc


@pytest.mark.parametrize('train', [True, False])
def test_channels_last_same_outputs_and_gradients(train):
    ref, nhwc = _pair()
    ref.train(train)
    nhwc.train(train)
    layouts = []
    nhwc.visual.layer1.register_forward_hook(
        lambda m, i, o: layouts.append(
            o.is_contiguous(memory_format=torch.channels_last)))
    images = torch.randn(2, 3, 64, 96)
    outs = []
    for model in (ref, nhwc):
        maps = model.forward_visual(images)
        sum((m * torch.linspace(-1, 1, m.numel()).view_as(m)).sum()
            for m in maps).backward()
        outs.append(maps)
    assert layouts == [True]  # the tower ran in NHWC
    for a, b in zip(*outs):
        assert b.is_contiguous()  # NCHW for the necks
        # (convolution kernels sum in another order: float32 rounding)
        torch.testing.assert_close(b, a, rtol=1e-4, atol=5e-5)
    for (name, p), q in zip(ref.named_parameters(), nhwc.parameters()):
        if p.grad is not None:
            # weight gradients are sums over every pixel: compare against
            # the gradient's own scale
            scale = p.grad.abs().max().item()
            diff = (q.grad - p.grad).abs().max().item()
            assert diff <= 1e-4 * scale + 1e-6, (name, diff, scale)


def test_channels_last_auto_only_on_cuda():
    model = CLIPResNet(model_cfg=TINY_CLIP, context_length=8)
    assert model.channels_last == 'auto'
    assert not model.uses_channels_last(torch.zeros(1, 3, 64, 64))
    assert model.uses_channels_last(SimpleNamespace(is_cuda=True))
    model.channels_last = True
    assert model.uses_channels_last(torch.zeros(1, 3, 64, 64))
    with pytest.raises(ValueError, match='channels_last'):
        CLIPResNet(model_cfg=TINY_CLIP, context_length=8, channels_last='on')
