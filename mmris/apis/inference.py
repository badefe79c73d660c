"""Build a referring segmentor from a config and run it on image + text."""
from pathlib import Path
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from mmseg.structures import SegDataSample

from mmris.registry import MODELS

__all__ = ['init_model', 'inference_model']

ImageType = Union[str, np.ndarray]


def init_model(config: Union[str, Path, Config],
               checkpoint: Optional[str] = None,
               device: str = 'cpu',
               cfg_options: Optional[dict] = None) -> nn.Module:
    """Build a segmentor from a config and load a checkpoint.

    Args:
        config (str | Path | Config): Config file or object.
        checkpoint (str, optional): Checkpoint file; None keeps the weights
            the model is built with.
        device (str): Device to put the model on. Defaults to 'cpu'.
        cfg_options (dict, optional): Overrides merged into the config.

    Returns:
        nn.Module: The segmentor in eval mode, with ``cfg`` attached.
    """
    if isinstance(config, (str, Path)):
        config = Config.fromfile(str(config))
    elif not isinstance(config, Config):
        raise TypeError(f'config must be a file name or a Config, got '
                        f'{type(config)}')
    if cfg_options is not None:
        config.merge_from_dict(cfg_options)
    from mmris.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    init_default_scope(config.get('default_scope', 'mmris'))
    config.model.train_cfg = None
    model = MODELS.build(config.model)
    if checkpoint is not None:
        ckpt = load_checkpoint(model, checkpoint, map_location='cpu')
        model.dataset_meta = ckpt.get('meta', {}).get('dataset_meta')
    model.cfg = config
    model.to(device)
    model.eval()
    return model


def _test_pipeline(cfg: Config, from_array: bool) -> Compose:
    """The config's test pipeline without ground-truth loading."""
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


@torch.no_grad()
def inference_model(model: nn.Module, img: Union[ImageType,
                                                 Sequence[ImageType]],
                    text: Union[str, Sequence[str]]
                    ) -> Union[SegDataSample, List[SegDataSample]]:
    """Segment the object each expression refers to.

    Args:
        model (nn.Module): A segmentor from :func:`init_model`.
        img (str | ndarray | list): Image file(s) or BGR array(s).
        text (str | list[str]): One expression per image.

    Returns:
        SegDataSample | list[SegDataSample]: ``pred_sem_seg`` (1, H, W) with
        values 0/1 and ``seg_logits`` at the original image size.
    """
    single = isinstance(img, (str, np.ndarray))
    imgs = [img] if single else list(img)
    texts = [text] if isinstance(text, str) else list(text)
    if len(imgs) != len(texts):
        raise ValueError(f'{len(imgs)} images but {len(texts)} expressions')
    init_default_scope(model.cfg.get('default_scope', 'mmris'))
    pipeline = _test_pipeline(model.cfg, isinstance(imgs[0], np.ndarray))
    batch = dict(inputs=[], data_samples=[])
    for i, (image, expression) in enumerate(zip(imgs, texts)):
        info = dict(text=expression, ref_id=i, sent_id=i)
        if isinstance(image, np.ndarray):
            info['img'] = image
        else:
            info['img_path'] = image
        packed = pipeline(info)
        batch['inputs'].append(packed['inputs'])
        batch['data_samples'].append(packed['data_samples'])
    results = model.test_step(batch)
    return results[0] if single else results
