"""Every backbone x neck (or none) x head: it trains and predicts, or it fails
when the model is built with a message naming both modules (docs/design.md
section 2.3). The README's table is generated from the same lists."""
import importlib.util
import os

import pytest
import torch

import mmris  # noqa: F401
from mmris.testing.mixing_matrix import (BACKBONES, HEADS, IMG_SIZE, NECKS,
                                         build_combination, combinations,
                                         make_batch, markdown_matrix)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def _load_tool():
    path = os.path.join(ROOT, 'tools', 'misc', 'mixing_matrix.py')
    spec = importlib.util.spec_from_file_location('mixing_matrix_tool', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('backbone,neck,head', combinations())
def test_combination_trains_or_fails_at_build(backbone, neck, head):
    torch.manual_seed(0)
    model, message = build_combination(backbone, neck, head)
    if model is None:
        # a documented mismatch: the message names the consumer and what
        # comes before it, and says what to change
        consumer = head if message.startswith(head) else None
        names = [n.split(' ')[0] for n in (neck, ) if n != 'none']
        assert consumer or any(n in message for n in names), message
        assert 'cannot follow' in message, message
        return
    model.train()
    batch = model.data_preprocessor(make_batch(), training=True)
    optim = torch.optim.SGD(model.parameters(), lr=1e-3)
    losses = model.loss(batch['inputs'], batch['data_samples'])
    loss = sum(v for k, v in losses.items() if k.startswith('loss'))
    assert torch.isfinite(loss)
    loss.backward()
    # the loss reaches the head and, through the neck, the backbone
    for part in (model.decode_head, model.backbone):
        grads = [p.grad for p in part.parameters() if p.requires_grad]
        assert any(g is not None and g.abs().sum() > 0 for g in grads), part
    optim.step()
    model.eval()
    with torch.no_grad():
        batch = model.data_preprocessor(make_batch(), training=False)
        out = model.predict(batch['inputs'], batch['data_samples'])
    assert out[0].pred_sem_seg.data.shape == (1, IMG_SIZE, IMG_SIZE)


def test_paper_pairings_build():
    """Each paper's own pairing is in the matrix and builds."""
    for combo in [('CLIPResNet', 'CRISNeck', 'CRISHead'),
                  ('CLIPViT', 'ASDANeck', 'WGDAHead')]:
        assert combo in combinations()
        model, message = build_combination(*combo)
        assert model is not None, message


def test_other_input_size():
    """Sizes that follow from the input (WGDA's grid) follow it."""
    for combo in [('CLIPViT', 'ASDANeck', 'WGDAHead'),
                  ('CLIPResNet', 'CRISNeck', 'WGDAHead')]:
        model, message = build_combination(*combo, img_size=64)
        assert model is not None, message
        batch = model.data_preprocessor(make_batch(img_size=64), False)
        with torch.no_grad():
            out = model.predict(batch['inputs'], batch['data_samples'])
        assert out[0].pred_sem_seg.data.shape == (1, 64, 64)


def test_readme_table_is_current():
    tool = _load_tool()
    with open(os.path.join(ROOT, 'README.md'), encoding='utf-8') as f:
        readme = f.read()
    results = {c: build_combination(*c)[1] for c in combinations()}
    table = markdown_matrix(results)
    assert tool.replace_section(readme, table) == readme, (
        'README mixing matrix is stale: run '
        'python tools/misc/mixing_matrix.py --write README.md')
    assert set(BACKBONES) and set(NECKS) and set(HEADS)
