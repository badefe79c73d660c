"""What the analysis tools share: a model and a batch from any mmris config.

The batch goes through the config's own test pipeline and data
preprocessor, so FLOPs and timings are those of the configured input size
and text length, for every method.
"""
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config

__all__ = ['make_batch', 'TextBoundModel', 'config_input_size']


def config_input_size(cfg: Config) -> Tuple[int, int]:
    """(H, W) the config feeds the model (data preprocessor ``size``,
    else the test pipeline's resize scale, else 416)."""
    size = cfg.model.get('data_preprocessor', {}).get('size')
    if size:
        return int(size[0]), int(size[1])
    from mmris.apis.inference import build_test_pipeline  # noqa: F401
    dataset = cfg.test_dataloader.dataset
    while 'pipeline' not in dataset:
        dataset = (dataset.get('datasets') or [dataset.get('dataset')])[0]
    for step in dataset.pipeline:
        scale = step.get('scale')
        if scale:
            scale = (scale, scale) if isinstance(scale, int) else scale
            return int(scale[1]), int(scale[0])
    return 416, 416


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
        out = self.segmentor._forward(inputs, self.data_samples)
        return out[0] if isinstance(out, (tuple, list)) else out
