"""Build a referring segmentor from a config and run it on image + text.

Images are file paths or ``uint8`` arrays in BGR order (what ``cv2.imread``
and ``mmcv.imread`` return): ``(H, W)`` or ``(H, W, 1)`` gray, ``(H, W, 3)``
BGR or ``(H, W, 4)`` BGRA (alpha dropped). ``channel_order='rgb'`` takes
RGB / RGBA arrays (PIL, matplotlib) instead. Any other shape or dtype (float
images in particular) is an error naming the image, not a wrong mask.
"""
import difflib
import glob
import os.path as osp
from pathlib import Path
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope
from mmseg.structures import SegDataSample

from mmris.registry import MODELS

__all__ = [
    'init_model', 'inference_model', 'to_bgr_image', 'resolve_config',
    'build_test_pipeline'
]

ImageType = Union[str, np.ndarray]
REPO_CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))), 'configs')


def resolve_config(config: Union[str, Path]) -> str:
    """A config file, or the file of a config name under ``configs/``.

    Args:
        config (str | Path): A path, or a name such as
            ``'cris_tiny_synthetic'`` (with or without ``.py``).

    Returns:
        str: The config file.
    """
    config = str(config)
    if osp.isfile(config):
        return config
    name = osp.basename(config)
    name = name if name.endswith('.py') else name + '.py'
    found = sorted(glob.glob(osp.join(REPO_CONFIGS, '**', name),
                             recursive=True))
    found = [f for f in found if '_base_' not in f]
    if found:
        return found[0]
    names = [
        osp.splitext(osp.basename(f))[0]
        for f in glob.glob(osp.join(REPO_CONFIGS, '**', '*.py'),
                           recursive=True) if '_base_' not in f
    ]
    close = difflib.get_close_matches(osp.splitext(name)[0], names, n=3)
    hint = f' Did you mean {close}?' if close else ''
    raise FileNotFoundError(
        f'config {config!r} is neither a file nor a config name under '
        f'{REPO_CONFIGS}.{hint}')


def init_model(config: Union[str, Path, Config],
               checkpoint: Optional[str] = None,
               device: str = 'cpu',
               cfg_options: Optional[dict] = None,
               strict: bool = True) -> nn.Module:
    """Build a segmentor from a config and load a checkpoint.

    Args:
        config (str | Path | Config): Config file, config name under
            ``configs/``, or config object.
        checkpoint (str, optional): Checkpoint file; None keeps the weights
            the model is built with.
        device (str): Device to put the model on. Defaults to 'cpu'.
        cfg_options (dict, optional): Overrides merged into the config
            (an unknown top-level key is an error).
        strict (bool): Stop with the lists of missing, unexpected and
            mis-shaped keys when the checkpoint does not fit the model
            (:class:`~mmris.utils.CheckpointMismatchError`); False loads
            what fits and warns. Defaults to True.

    Returns:
        nn.Module: The segmentor in eval mode, with ``cfg`` attached.
    """
    if isinstance(config, (str, Path)):
        config = Config.fromfile(resolve_config(config))
    elif not isinstance(config, Config):
        raise TypeError(f'config must be a file name or a Config, got '
                        f'{type(config)}')
    from mmris.utils import (check_cfg_option_keys, load_weights_strictly,
                             register_all_modules)
    if cfg_options is not None:
        check_cfg_option_keys(config, list(cfg_options), 'the config')
        config.merge_from_dict(cfg_options)
    register_all_modules(init_default_scope=False)
    init_default_scope(config.get('default_scope', 'mmris'))
    config.model.train_cfg = None
    model = MODELS.build(config.model)
    if checkpoint is not None:
        ckpt = load_weights_strictly(model, checkpoint, strict=strict)
        model.dataset_meta = ckpt.get('meta', {}).get('dataset_meta')
    model.cfg = config
    model.to(device)
    model.eval()
    return model


def to_bgr_image(img: np.ndarray,
                 channel_order: str = 'bgr',
                 name: str = 'image') -> np.ndarray:
    """Check an input array and return it as (H, W, 3) uint8 BGR.

    Args:
        img (np.ndarray): (H, W) / (H, W, 1) gray, (H, W, 3) colour or
            (H, W, 4) colour + alpha, dtype uint8 (values 0-255).
        channel_order (str): ``'bgr'`` (cv2 / mmcv) or ``'rgb'`` (PIL,
            matplotlib). Defaults to 'bgr'.
        name (str): How the image is named in errors.

    Returns:
        np.ndarray: (H, W, 3) uint8 BGR (alpha dropped, gray replicated).
    """
    if channel_order not in ('bgr', 'rgb'):
        raise ValueError(
            f"channel_order must be 'bgr' or 'rgb', got {channel_order!r}")
    if not isinstance(img, np.ndarray):
        raise TypeError(f'{name}: expected a file path or a numpy array, got '
                        f'{type(img).__name__}')
    if img.dtype != np.uint8:
        hint = ''
        if np.issubdtype(img.dtype, np.floating):
            hint = (' For a float image in [0, 1] pass '
                    '(img * 255).round().astype(np.uint8); for one in '
                    '[0, 255] pass img.round().astype(np.uint8).')
        raise TypeError(
            f'{name}: arrays must be uint8 with values 0-255 (as cv2.imread '
            f'returns), got dtype {img.dtype}.{hint}')
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim == 2:
        return np.ascontiguousarray(np.repeat(img[..., None], 3, axis=2))
    if img.ndim != 3 or img.shape[2] not in (3, 4) or min(img.shape[:2]) < 1:
        raise ValueError(
            f'{name}: expected an (H, W) or (H, W, 1) gray, (H, W, 3) '
            f'{channel_order.upper()} or (H, W, 4) '
            f'{channel_order.upper()}A array, got shape {img.shape}')
    img = img[..., :3]
    if channel_order == 'rgb':
        img = img[..., ::-1]
    return np.ascontiguousarray(img)


def build_test_pipeline(cfg: Config, from_array: bool) -> Compose:
    """The config's test pipeline without ground-truth loading.

    Args:
        cfg (Config): A config with ``test_dataloader.dataset.pipeline``
            (or a wrapper of datasets that have one).
        from_array (bool): Load from ``results['img']`` instead of a file.
    """
    dataset = cfg.test_dataloader.dataset
    while 'pipeline' not in dataset:  # ConcatDataset / wrappers
        inner = dataset.get('datasets') or [dataset.get('dataset')]
        if not inner or inner[0] is None:
            raise KeyError('no pipeline found in cfg.test_dataloader.dataset')
        dataset = inner[0]
    steps = []
    for step in dataset.pipeline:
        if step['type'] in ('LoadRefMask', 'LoadAnnotations'):
            continue
        if from_array and step['type'] in ('LoadRefImageFromFile',
                                           'LoadImageFromFile'):
            step = dict(type='LoadImageFromNDArray')
        steps.append(step)
    return Compose(steps)


def check_text(text, index: int = 0) -> str:
    """An expression must be a non-blank string."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(
            f'expression {index} is {text!r}; every image needs a non-empty '
            'referring expression (str)')
    return text


@torch.no_grad()
def inference_model(model: nn.Module,
                    img: Union[ImageType, Sequence[ImageType]],
                    text: Union[str, Sequence[str]],
                    channel_order: str = 'bgr'
                    ) -> Union[SegDataSample, List[SegDataSample]]:
    """Segment the object each expression refers to.

    Args:
        model (nn.Module): A segmentor from :func:`init_model`.
        img (str | ndarray | list): Image file(s) or uint8 array(s) (see the
            module docstring for the accepted layouts).
        text (str | list[str]): One expression per image, or one for all.
        channel_order (str): Channel order of array images, ``'bgr'`` or
            ``'rgb'``. Defaults to 'bgr'.

    Returns:
        SegDataSample | list[SegDataSample]: ``pred_sem_seg`` (1, H, W) bool
        (True on the object) and ``seg_logits`` at the original image size.
    """
    single = isinstance(img, (str, Path, np.ndarray))
    imgs = [img] if single else list(img)
    texts = [text] * len(imgs) if isinstance(text, str) else list(text)
    if len(imgs) != len(texts):
        raise ValueError(f'{len(imgs)} images but {len(texts)} expressions')
    init_default_scope(model.cfg.get('default_scope', 'mmris'))
    pipelines = {}
    batch = dict(inputs=[], data_samples=[])
    for i, (image, expression) in enumerate(zip(imgs, texts)):
        info = dict(text=check_text(expression, i), ref_id=i, sent_id=i)
        if isinstance(image, np.ndarray):
            info['img'] = to_bgr_image(image, channel_order, f'image {i}')
        elif isinstance(image, (str, Path)):
            info['img_path'] = str(image)
        else:
            raise TypeError(f'image {i}: expected a file path or a numpy '
                            f'array, got {type(image).__name__}')
        from_array = 'img' in info
        if from_array not in pipelines:
            pipelines[from_array] = build_test_pipeline(model.cfg, from_array)
        packed = pipelines[from_array](info)
        batch['inputs'].append(packed['inputs'])
        batch['data_samples'].append(packed['data_samples'])
    results = model.test_step(batch)
    return results[0] if single else results
