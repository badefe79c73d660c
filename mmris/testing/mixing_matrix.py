"""The mixing matrix: every backbone x neck (or none) x head, small size.

docs/design.md section 2.3. The component lists below are the single source
of the README's matrix table (``python tools/misc/mixing_matrix.py``) and of
the parametrised test ``tests/test_models/test_mixing_matrix.py``. Every
entry gives only sizes (widths, depths) and never the arguments that restate
the module before it (``in_channels``, ``word_dims``, ``sentence_dims``,
``feat_size``...): those come from the declared output spec, as in a user's
mixed config.
"""
import itertools
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple, Union

import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

__all__ = [
    'BACKBONES', 'NECKS', 'HEADS', 'IMG_SIZE', 'combinations', 'matrix_cfg',
    'build_combination', 'make_batch', 'markdown_matrix'
]

#: Input size of the matrix (not the 416 / 480 / 640 of the paper configs).
IMG_SIZE = 96

_TEXT = dict(context_length=77, vocab_size=49408, width=32, heads=2, layers=1)

#: Backbones at reduced size (random weights).
BACKBONES: 'OrderedDict[str, dict]' = OrderedDict([
    ('CLIPResNet',
     dict(
         type='CLIPResNet',
         model_cfg=dict(
             embed_dim=64,
             vision_cfg=dict(
                 image_size=64, layers=[1, 1, 1, 1], width=8, head_width=32),
             text_cfg=_TEXT),
         context_length=8)),
    ('CLIPViT',
     dict(
         type='CLIPViT',
         model_cfg=dict(
             embed_dim=32,
             vision_cfg=dict(
                 layers=12, width=48, head_width=16, patch_size=16,
                 image_size=32),
             text_cfg=_TEXT),
         img_size=IMG_SIZE,
         context_length=8,
         out_indices=(3, 4, 5, 6, 7, 8, 11))),
])

#: Necks at reduced size; None = no neck; a list = necks in a row.
NECKS: 'OrderedDict[str, Union[None, dict, List[dict]]]' = OrderedDict([
    ('none', None),
    ('CRISNeck', dict(type='CRISNeck', out_channels=32)),
    ('SimpleFeaturePyramid + CRISNeck', [
        dict(type='SimpleFeaturePyramid', out_channels=32),
        dict(type='CRISNeck', out_channels=32)
    ]),
    ('ASDANeck', dict(type='ASDANeck', out_channels=32)),
])

#: Heads at reduced size.
HEADS: 'OrderedDict[str, dict]' = OrderedDict([
    ('CRISHead',
     dict(
         type='CRISHead',
         num_layers=1,
         num_heads=2,
         ffn_dims=32,
         proj_channels=16)),
    ('WGDAHead',
     dict(
         type='WGDAHead',
         num_prototypes=4,
         num_layers=1,
         num_heads=2,
         ffn_dims=32,
         decoder_channels=(16, 16, 16))),
])

Combination = Tuple[str, str, str]


def combinations() -> List[Combination]:
    """Every (backbone, neck, head) name triple, in table order."""
    return list(itertools.product(BACKBONES, NECKS, HEADS))


def matrix_cfg(backbone: str,
               neck: str,
               head: str,
               img_size: int = IMG_SIZE) -> dict:
    """The ``RefSegmentor`` config of one combination."""
    cfg = dict(
        type='RefSegmentor',
        data_preprocessor=dict(
            type='SegDataPreProcessor',
            mean=[122.7, 116.7, 104.0],
            std=[68.5, 66.6, 70.7],
            bgr_to_rgb=True,
            size=(img_size, img_size)),
        backbone=dict(BACKBONES[backbone]),
        decode_head=dict(HEADS[head]))
    if 'img_size' in cfg['backbone']:
        cfg['backbone']['img_size'] = img_size
    if NECKS[neck] is not None:
        cfg['neck'] = NECKS[neck]
    return cfg


def build_combination(backbone: str, neck: str, head: str,
                      img_size: int = IMG_SIZE):
    """Build one combination.

    Returns:
        tuple: ``(model, None)`` when it builds, ``(None, message)`` when
        the build raises :class:`~mmris.structures.SpecMismatchError`.
        Any other exception propagates (a bug, not a documented mismatch).
    """
    from mmris.registry import MODELS
    from mmris.structures import SpecMismatchError
    from mmris.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    try:
        return MODELS.build(matrix_cfg(backbone, neck, head, img_size)), None
    except SpecMismatchError as err:
        return None, str(err)


def make_batch(batch_size: int = 2,
               img_size: int = IMG_SIZE,
               seed: int = 0) -> Dict[str, list]:
    """A random training batch in the data loader's format."""
    gen = torch.Generator().manual_seed(seed)
    texts = ['the red one on the left', 'a small dog', 'blue car',
             'the man in the middle']
    inputs, samples = [], []
    for i in range(batch_size):
        inputs.append(
            torch.randint(0, 256, (3, img_size, img_size), generator=gen,
                          dtype=torch.uint8))
        mask = torch.zeros(1, img_size, img_size, dtype=torch.long)
        mask[:, img_size // 4:img_size // 2, img_size // 8 * (i + 1):] = 1
        sample = SegDataSample(
            metainfo=dict(
                text=texts[i % len(texts)],
                img_shape=(img_size, img_size),
                ori_shape=(img_size, img_size),
                pad_shape=(img_size, img_size)))
        sample.gt_sem_seg = PixelData(data=mask)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def _short(message: Optional[str]) -> str:
    """The reason of a build error, without the input description."""
    if message is None:
        return ''
    reason = message.split('): ', 1)[-1]
    return reason.replace('|', '/').replace('\n', ' ')


def markdown_matrix(results: Dict[Combination, Optional[str]]) -> str:
    """The README table: rows backbone + neck, columns heads.

    Args:
        results (dict): ``(backbone, neck, head) -> None`` for a combination
            that builds (and, in the test, trains and predicts), or the
            build error message.

    Returns:
        str: A markdown table, then one line per impossible combination.
    """
    heads = list(HEADS)
    lines = ['| backbone | neck | ' + ' | '.join(heads) + ' |',
             '| --- | --- | ' + ' | '.join('---' for _ in heads) + ' |']
    notes = []
    for backbone, neck in itertools.product(BACKBONES, NECKS):
        cells = []
        for head in heads:
            message = results[(backbone, neck, head)]
            if message is None:
                cells.append('trains')
            else:
                notes.append(f'- {backbone} + {neck} + {head}: '
                             f'{_short(message)}')
                cells.append(f'no ({len(notes)})')
        lines.append(f'| {backbone} | {neck} | ' + ' | '.join(cells) + ' |')
    if notes:
        lines += ['', 'Combinations that cannot work, and why (the error '
                  'raised when the model is built):', '']
        lines += [f'{i}. {note[2:]}' for i, note in enumerate(notes, 1)]
    return '\n'.join(lines)
