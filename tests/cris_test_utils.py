"""Reduced-size CRIS configs shared by the CRIS tests (not a test file)."""
import torch

#: A CLIP ResNet with random weights: layer2 64 ch, layer3 128 ch,
#: attention pool 256 -> 64 ch; text width 32, sentence 64.
TINY_CLIP = dict(
    embed_dim=64,
    vision_cfg=dict(image_size=64, layers=[1, 1, 1, 1], width=8,
                    head_width=32),
    text_cfg=dict(context_length=77, vocab_size=49408, width=32, heads=2,
                  layers=1))


def tiny_cris_cfg(context_length: int = 8, num_layers: int = 2,
                  kernel_size: int = 3, **head_kwargs) -> dict:
    """A RefSegmentor config of a small CRIS."""
    return dict(
        type='RefSegmentor',
        backbone=dict(
            type='CLIPResNet', model_cfg=TINY_CLIP,
            context_length=context_length),
        neck=dict(
            type='CRISNeck', in_channels=(64, 128, 64), out_channels=32,
            sentence_dims=64),
        decode_head=dict(
            type='CRISHead', in_channels=32, word_dims=32, sentence_dims=64,
            num_layers=num_layers, num_heads=4, ffn_dims=64, dropout=0.1,
            proj_channels=16, kernel_size=kernel_size, **head_kwargs))


def randomize_(module: torch.nn.Module, seed: int = 0) -> None:
    """Fill every parameter and BN statistic with random values.

    Matrices get ``randn / sqrt(fan_in)``, 1-D weights (norm scales)
    ``1 + 0.2 randn``, biases and means ``0.1 randn``, variances
    ``0.5 + |0.1 randn|``: outputs stay O(1) through deep stacks, so a
    comparison of two models is sensitive to every module.
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if not tensor.is_floating_point():
                continue
            rnd = torch.randn(tensor.shape, generator=gen)
            if name.endswith('running_var'):
                rnd = rnd.abs() * 0.1 + 0.5
            elif tensor.dim() >= 2:
                rnd = rnd / (tensor[0].numel() ** 0.5)
            elif tensor.dim() == 1 and name.endswith('weight'):
                rnd = 1 + 0.2 * rnd
            else:
                rnd = 0.1 * rnd
            tensor.copy_(rnd)
