"""Small RISCLIP models and batches shared by the RISCLIP tests."""
import copy

import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

import mmris  # noqa: F401
from mmris.registry import MODELS

#: An open_clip CLIP config small enough for unit tests (random weights).
SMALL_CLIP = dict(
    embed_dim=64,
    vision_cfg=dict(image_size=32, layers=4, width=96, patch_size=8,
                    head_width=32),
    text_cfg=dict(context_length=77, vocab_size=49408, width=64, heads=2,
                  layers=3))


def small_model_cfg(stage: int = 1, context_length: int = 24, num_cfe=2,
                    ske_layers=2, **backbone) -> dict:
    """A StagedRefSegmentor config with the small CLIP at 64x64 (8x8 grid)."""
    cfg = dict(
        type='StagedRefSegmentor',
        trainable=('backbone', 'neck') if stage == 1 else
        ('decode_head.decoder', ),
        backbone=dict(type='RISCLIPBackbone', model_cfg=SMALL_CLIP,
                      img_size=64, context_length=context_length,
                      num_cfe=num_cfe, out_indices=(0, 1), **backbone),
        neck=dict(type='SKENeck', embed_dims=64, num_layers=ske_layers,
                  num_heads=2),
        decode_head=dict(type='RISCLIPHead', in_channels=96,
                         in_index=(0, 1), output_stride=8,
                         stage='locator' if stage == 1 else 'refiner'),
        test_cfg=dict(threshold=0.5))
    return copy.deepcopy(cfg)


def build_small(stage: int = 1, seed: int = 0, **kwargs):
    torch.manual_seed(seed)
    return MODELS.build(small_model_cfg(stage, **kwargs))


def randomize_(module: torch.nn.Module, std: float = 0.05,
               seed: int = 1) -> None:
    """Give every trainable parameter random values (undo zero inits)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in sorted(module.named_parameters()):
            if p.requires_grad:
                p.add_(torch.randn(p.shape, generator=gen) * std)


def make_samples(size: int = 64, texts=('the man on the left',
                                        'a red car')):
    samples = []
    for i, text in enumerate(texts):
        s = SegDataSample()
        mask = torch.zeros(1, size, size, dtype=torch.long)
        mask[:, size // 8:size // 2, size // 16 + i:size // 2 + i] = 1
        s.gt_sem_seg = PixelData(data=mask)
        s.set_metainfo(dict(text=text, img_shape=(size, size),
                            batch_input_shape=(size, size),
                            ori_shape=(size, size)))
        samples.append(s)
    return samples


def train_step(model, images, samples, lr=1e-2):
    """One AdamW step on the trainable parameters; returns the losses."""
    params = [p for p in model.parameters() if p.requires_grad]
    optim = torch.optim.AdamW(params, lr=lr, weight_decay=5e-3)
    model.train()
    losses = model.loss(images, samples)
    loss = sum(v for k, v in losses.items() if k.startswith('loss'))
    assert torch.isfinite(loss)
    optim.zero_grad()
    loss.backward()
    optim.step()
    return losses
