"""What the analysis tools share: a model and a batch from any mmris config.

The batch goes through the config's own test pipeline and data
preprocessor, so FLOPs and timings are those of the configured input size
and text length, for every method. :func:`set_input_size` builds the same
model (widths, depths) for another input size (the tools' ``--input-size``).
"""
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config

__all__ = [
    'make_batch', 'TextBoundModel', 'config_input_size', 'set_input_size',
    'load_config'
]

#: Model config keys holding a token grid that scales with the input size.
GRID_KEYS = ('feat_size', 'grid_size')
#: Resize transforms whose ``scale`` is (h, w); mmcv's take (w, h).
HW_SCALE_TYPES = ('LetterboxResize', 'RandomAffineLetterbox')


def _pair(value) -> Tuple[int, int]:
    if isinstance(value, int):
        return value, value
    return int(value[0]), int(value[1])


def _scale_hw(step: dict) -> Optional[Tuple[int, int]]:
    """(H, W) of a resize step's ``scale``: ``(h, w)`` for
    :data:`HW_SCALE_TYPES`, mmcv's ``(w, h)`` for the others; None
    without."""
    scale = step.get('scale')
    if not scale:
        return None
    h, w = _pair(scale)
    return (h, w) if step.get('type') in HW_SCALE_TYPES else (w, h)


def _datasets(dataset: dict) -> list:
    """A dataset config and those it wraps (ConcatDataset, wrappers)."""
    found = [dataset]
    for inner in list(dataset.get('datasets') or []) + [
            dataset.get('dataset')]:
        if isinstance(inner, dict):
            found += _datasets(inner)
    return found


def config_input_size(cfg: Config) -> Tuple[int, int]:
    """(H, W) the config feeds the model (data preprocessor ``size``,
    else the test pipeline's resize scale, else 416)."""
    size = cfg.model.get('data_preprocessor', {}).get('size')
    if size:
        return _pair(size)
    for dataset in _datasets(cfg.test_dataloader.dataset):
        for step in dataset.get('pipeline') or []:
            hw = _scale_hw(step)
            if hw:
                return hw
    return 416, 416


def set_input_size(cfg: Config, size: Sequence[int]) -> Config:
    """Make ``cfg`` feed the model (H, W) images instead of its own size.

    For quick checks of a full-width, full-depth model on a smaller input
    (or a study at another size). Rewritten in place: the data
    preprocessor's ``size``; every pipeline resize whose scale is the
    configured size; every model ``img_size`` equal to it; and every model
    token grid (``feat_size``, ``grid_size``), scaled by the same ratio.
    Positional tables built for ``img_size`` are then built (or resized)
    for the new size; widths and depths do not change.

    Args:
        cfg (Config): A model config with its data pipelines.
        size (Sequence[int]): New (H, W).

    Returns:
        Config: ``cfg``.

    Raises:
        ValueError: A token grid does not scale to whole numbers.
    """
    new = _pair(tuple(size) if not isinstance(size, int) else size)
    old = config_input_size(cfg)
    pre = cfg.model.get('data_preprocessor')
    if pre is not None and pre.get('size'):
        pre['size'] = new
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        if not loader or not loader.get('dataset'):
            continue
        for dataset in _datasets(loader.dataset):
            for step in dataset.get('pipeline') or []:
                if _scale_hw(step) == old:
                    step['scale'] = (new if step['type'] in HW_SCALE_TYPES
                                     else (new[1], new[0]))

    def visit(node, path: str) -> None:
        if isinstance(node, (list, tuple)):
            for i, item in enumerate(node):
                visit(item, f'{path}[{i}]')
            return
        if not isinstance(node, dict):
            return
        for key, value in node.items():
            where = f'{path}.{key}'
            if key == 'img_size' and value is not None and \
                    _pair(value) == old:
                node[key] = new[0] if isinstance(value, int) and \
                    new[0] == new[1] else new
            elif key in GRID_KEYS and value is not None:
                grid = _pair(value)
                scaled = [g * n / o for g, n, o in zip(grid, new, old)]
                if any(s != int(s) for s in scaled):
                    raise ValueError(
                        f'{where}={value!r} is a token grid for the input '
                        f'size {old}; it does not scale to {new} '
                        f'(got {scaled}): pick a size that divides evenly')
                grid = tuple(int(s) for s in scaled)
                square = isinstance(value, int) and grid[0] == grid[1]
                node[key] = grid[0] if square else grid
            else:
                visit(value, where)

    visit(cfg.model, 'model')
    return cfg


def load_config(config: Union[str, Config],
                cfg_options: Optional[dict] = None,
                input_size: Optional[Sequence[int]] = None) -> Config:
    """A config (file, name under ``configs/`` or object) with the tools'
    overrides applied: ``--cfg-options`` (unknown top-level keys are an
    error) and then ``--input-size`` (:func:`set_input_size`).

    Args:
        config (str | Config): The config.
        cfg_options (dict, optional): Overrides to merge.
        input_size (Sequence[int], optional): New network input (H, W).

    Returns:
        Config: The config (a copy when a ``Config`` was given).
    """
    from mmris.apis.inference import resolve_config
    from mmris.utils import check_cfg_option_keys
    if isinstance(config, Config):
        cfg, where = config.copy(), 'the config'
    else:
        where = resolve_config(config)
        cfg = Config.fromfile(where)
    if cfg_options:
        check_cfg_option_keys(cfg, list(cfg_options), where)
        cfg.merge_from_dict(cfg_options)
    if input_size:
        set_input_size(cfg, input_size)
    return cfg


def make_batch(model: nn.Module,
               texts: Sequence[str],
               image_hw: Optional[Tuple[int, int]] = None,
               images: Optional[List[np.ndarray]] = None,
               seed: int = 0) -> dict:
    """A preprocessed batch for ``model`` (built by ``init_model``).

    Args:
        model (nn.Module): Segmentor with ``cfg`` attached.
        texts (Sequence[str]): One expression per sample.
        image_hw (tuple, optional): Size of the random images; None takes
            :func:`config_input_size`.
        images (list[np.ndarray], optional): BGR uint8 images to use instead
            of random ones.
        seed (int): Seed of the random images.

    Returns:
        dict: ``inputs`` (B, 3, H, W) on the model's device and
        ``data_samples``, as the data preprocessor returns them.
    """
    from mmengine.dataset import pseudo_collate

    from mmris.apis.inference import build_test_pipeline
    pipeline = build_test_pipeline(model.cfg, from_array=True)
    if images is None:
        height, width = image_hw or config_input_size(model.cfg)
        rng = np.random.default_rng(seed)
        images = [
            rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
            for _ in texts
        ]
    items = [
        pipeline(dict(img=img, text=text, ref_id=i, sent_id=i))
        for i, (img, text) in enumerate(zip(images, texts))
    ]
    return model.data_preprocessor(pseudo_collate(items), False)


class TextBoundModel(nn.Module):
    """``segmentor._forward`` with the batch's expressions bound, so that
    tracers (FLOP counting, ``torch.jit``) see one tensor input.

    Args:
        segmentor (nn.Module): The segmentor.
        data_samples (list): The batch's data samples (expressions in their
            metainfo).
    """

    def __init__(self, segmentor: nn.Module, data_samples: list) -> None:
        super().__init__()
        self.segmentor = segmentor
        self.data_samples = data_samples

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        # through __call__, so that the FLOP table is rooted at the segmentor
        out = self.segmentor(inputs, self.data_samples, mode='tensor')
        return out[0] if isinstance(out, (tuple, list)) else out
