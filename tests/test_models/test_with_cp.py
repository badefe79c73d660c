"""Activation checkpointing (``with_cp=True``) of the large backbones
(issue 12, GPU speed): BEiT-3, CLIPViT (both towers) and the RISCLIP
backbone give the same outputs and the same gradients as without it, while
the blocks really run under ``torch.utils.checkpoint`` (counted), and not
at all in eval mode."""
import dataclasses
import importlib.util
import os.path as osp

import pytest
import torch

import mmris  # noqa: F401
import mmris.models.utils.checkpoint as cp_module
from mmris.registry import MODELS

_HERE = osp.dirname(osp.abspath(__file__))


def _load(path: str, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


beit3_utils = _load(osp.join(_HERE, '..', 'beit3_test_utils.py'), 'b3u_cp')
risclip_utils = _load(
    osp.join(_HERE, '..', 'risclip_test_utils.py'), 'rcu_cp')
asda_utils = _load(osp.join(_HERE, 'asda_test_utils.py'), 'asu_cp')

TEXTS = ['the man on the left', 'a red car']


def _tensors(feats):
    """Every tensor of a VLFeatures, in a fixed order."""
    out = []

    def collect(x):
        if torch.is_tensor(x):
            out.append(x)
        elif isinstance(x, (list, tuple)):
            for y in x:
                collect(y)
        elif isinstance(x, dict):
            for k in sorted(x):
                collect(x[k])

    for field in dataclasses.fields(feats):
        collect(getattr(feats, field.name))
    return [t for t in out if t.is_floating_point()]


def _counting(monkeypatch):
    calls = []
    real = cp_module.checkpoint

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(cp_module, 'checkpoint', counted)
    import open_clip.transformer as oc_transformer
    if hasattr(oc_transformer, 'checkpoint'):
        real_oc = oc_transformer.checkpoint

        def counted_oc(*args, **kwargs):
            calls.append(1)
            return real_oc(*args, **kwargs)

        monkeypatch.setattr(oc_transformer, 'checkpoint', counted_oc)
    return calls


def _call(model, images):
    if model.__class__.__name__ == 'BEiT3':  # no sentencepiece model here
        ids = torch.arange(16).view(2, 8) + 5
        pad = torch.zeros(2, 8, dtype=torch.bool)
        pad[1, 5:] = True
        return model.forward_ids(images, ids, pad)
    return model(images, TEXTS)


def _run(cfg, with_cp, monkeypatch, seed=0):
    torch.manual_seed(seed)
    model = MODELS.build(dict(cfg, with_cp=with_cp))
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():  # undo zero inits (adapters, scalers)
        for _, p in sorted(model.named_parameters()):
            p.add_(torch.randn(p.shape, generator=gen) * 0.02)
    model.train()
    size = model.img_size
    images = torch.randn(2, 3, *size, generator=gen)
    calls = _counting(monkeypatch)
    torch.manual_seed(123)  # same dropout / drop-path draws
    outs = _tensors(_call(model, images))
    loss = sum((o * torch.linspace(0.5, 1.5, o.numel()).view_as(o)).sum()
               for o in outs)
    loss.backward()
    grads = {
        n: p.grad.clone()
        for n, p in model.named_parameters() if p.grad is not None
    }
    monkeypatch.undo()
    return model, outs, grads, len(calls)


def _compare(cfg, monkeypatch, min_calls):
    _, ref_outs, ref_grads, ref_calls = _run(cfg, False, monkeypatch)
    model, outs, grads, calls = _run(cfg, True, monkeypatch)
    assert ref_calls == 0
    assert calls >= min_calls
    assert len(outs) == len(ref_outs)
    for a, b in zip(outs, ref_outs):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert set(grads) == set(ref_grads) and grads
    for name in ref_grads:
        torch.testing.assert_close(
            grads[name], ref_grads[name], rtol=1e-5, atol=1e-6, msg=name)
    # eval / no_grad never checkpoints
    model.eval()
    calls = _counting(monkeypatch)
    with torch.no_grad():
        _call(model, torch.randn(2, 3, *model.img_size))
    assert not calls


def test_beit3_with_cp_same_outputs_and_gradients(monkeypatch):
    # drop path on: checkpointing must replay the same random draws
    cfg = beit3_utils.tiny_beit3_cfg(drop_path_rate=0.2)
    _compare(cfg, monkeypatch, min_calls=beit3_utils.TINY_ARCH['num_layers'])


@pytest.mark.parametrize('sentence_levels', [True, False])
def test_clip_vit_with_cp_same_outputs_and_gradients(monkeypatch,
                                                      sentence_levels):
    cfg = asda_utils.small_backbone(sentence_levels=sentence_levels)
    # 12 image blocks + 12 text blocks
    _compare(cfg, monkeypatch, min_calls=24)


def test_risclip_with_cp_same_outputs_and_gradients(monkeypatch):
    cfg = risclip_utils.small_model_cfg(stage=1)['backbone']
    # 4 image + 3 text blocks + 2 CFE modules
    _compare(cfg, monkeypatch, min_calls=9)
