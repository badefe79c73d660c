"""``RISInferencer``: images + expressions in, masks (and drawings) out.

Built on MMEngine's ``BaseInferencer`` like mmseg's ``MMSegInferencer`` and
mmdet's ``DetInferencer(texts=...)``: a config (file or name under
``configs/``) and weights make the model; a call takes images (paths, a
folder, uint8 arrays) with one expression per image or one for all, runs
them in batches with a progress bar and returns the masks, optionally
writing the overlays and the 0/255 mask PNGs.

Example::

    from mmris.apis import RISInferencer
    inferencer = RISInferencer('cris_tiny_synthetic', weights='epoch_14.pth')
    result = inferencer('scene.png', texts='the red circle', out_dir='out')
    mask = result['predictions'][0]['mask']        # (H, W) uint8 0/1
"""
import copy
import logging
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import mmcv
import numpy as np

import torch.nn as nn
from mmengine.config import Config
from mmengine.infer.infer import BaseInferencer
from mmengine.logging import print_log
from mmengine.registry import init_default_scope

from mmris.registry import INFERENCERS, MODELS
from .inference import (build_test_pipeline, check_text, resolve_config,
                        to_bgr_image)

__all__ = ['RISInferencer']

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
InputType = Union[str, np.ndarray]


def _merge_options(cfg: Union[Config, dict], options: dict) -> None:
    """Merge ``--cfg-options`` style overrides into ``cfg`` in place (a
    ``Config`` or the ``ConfigDict`` BaseInferencer makes of a dict)."""
    from mmris.utils import check_cfg_option_keys
    merged = Config(copy.deepcopy(dict(cfg.items())))
    check_cfg_option_keys(merged, list(options), 'the config')
    merged.merge_from_dict(options)
    for key, value in merged.items():
        cfg[key] = value


@INFERENCERS.register_module(name=['RISInferencer', 'ris'])
class RISInferencer(BaseInferencer):
    """Referring image segmentation inferencer.

    Args:
        model (str | Config | dict, optional): Config file, config name
            under ``configs/`` (e.g. ``'cris_tiny_synthetic'``) or config.
            None reads the config saved in ``weights``.
        weights (str, optional): Checkpoint file. None keeps the weights the
            model is built with (random or pretrained: a warning says so).
        device (str, optional): ``'cpu'``, ``'cuda'`` ... None picks the
            available accelerator.
        scope (str): Registry scope. Defaults to 'mmris'.
        strict (bool): Stop when the weights do not fit the config's model
            (missing, unexpected or mis-shaped keys, listed); False loads
            what fits and warns. Defaults to True.
        show_progress (bool): Show a progress bar. Defaults to True.
        cfg_options (dict, optional): Overrides merged into the config
            before the model is built (an unknown top-level key is an
            error), e.g. ``{'model.backbone.spm_path': 'beit3.spm'}``.
    """

    preprocess_kwargs: set = {'texts', 'channel_order'}
    forward_kwargs: set = set()
    visualize_kwargs: set = {'show', 'wait_time', 'draw', 'vis_dir'}
    postprocess_kwargs: set = {'pred_dir', 'return_logits'}

    def __init__(self,
                 model: Union[str, Config, dict, None] = None,
                 weights: Optional[str] = None,
                 device: Optional[str] = None,
                 scope: str = 'mmris',
                 strict: bool = True,
                 show_progress: bool = True,
                 cfg_options: Optional[dict] = None) -> None:
        from mmris.utils import register_all_modules
        register_all_modules(init_default_scope=False)
        init_default_scope(scope)
        if isinstance(model, str):
            model = resolve_config(model)
        if weights is not None and not osp.isfile(weights):
            raise FileNotFoundError(f'weights file not found: {weights}')
        self.strict = strict
        self.cfg_options = cfg_options
        self._names: List[str] = []
        super().__init__(
            model=model,
            weights=weights,
            device=device,
            scope=scope,
            show_progress=show_progress)

    # ------------------------------------------------------------------ #
    # model and pipeline
    # ------------------------------------------------------------------ #
    def _init_model(self, cfg: Config, weights: Optional[str],
                    device: str = 'cpu') -> nn.Module:
        from mmengine.runner.checkpoint import (_load_checkpoint,
                                                _load_checkpoint_to_model)

        from mmris.utils import load_weights_strictly
        checkpoint = None
        if weights is not None:
            checkpoint = _load_checkpoint(weights, map_location='cpu')
        if not cfg:
            if checkpoint is None or 'cfg' not in checkpoint.get('meta', {}):
                raise ValueError('no config given and none saved in the '
                                 f'weights {weights}')
            cfg.update(
                Config.fromstring(checkpoint['meta']['cfg'],
                                  file_format='.py')._cfg_dict)
        if self.cfg_options:
            _merge_options(cfg, self.cfg_options)
        cfg.model.train_cfg = None
        model = MODELS.build(cfg.model)
        model.cfg = cfg
        if checkpoint is not None:
            state_dict = checkpoint.get('state_dict', checkpoint)
            load_weights_strictly(
                model, weights, strict=self.strict, state_dict=state_dict)
            _load_checkpoint_to_model(model, checkpoint, strict=False)
            model.dataset_meta = checkpoint.get('meta',
                                                {}).get('dataset_meta')
        else:
            print_log(
                'RISInferencer: no weights given; the model runs with the '
                'weights it is built with (random unless the config loads '
                'pretrained ones)',
                logger='current',
                level=logging.WARNING)
        model.to(device)
        model.eval()
        return model

    def _init_pipeline(self, cfg: Config):
        file_pipeline = build_test_pipeline(cfg, from_array=False)
        array_pipeline = build_test_pipeline(cfg, from_array=True)

        def pipeline(item: dict) -> dict:
            info = dict(text=item['text'], ref_id=item['index'],
                        sent_id=item['index'])
            if item.get('img') is not None:
                info['img'] = item['img']
                return array_pipeline(info)
            info['img_path'] = item['img_path']
            return file_pipeline(info)

        return pipeline

    def _init_collate(self, cfg):
        from mmengine.dataset import pseudo_collate
        return pseudo_collate  # what RefSegmentor.test_step expects

    def _init_visualizer(self, cfg):
        return None  # drawings use mmris.visualization.draw_ref_seg

    # ------------------------------------------------------------------ #
    # inputs
    # ------------------------------------------------------------------ #
    def _inputs_to_list(self, inputs) -> list:
        """Expand a folder to its image files (sorted)."""
        if isinstance(inputs, str) and osp.isdir(inputs):
            files = sorted(
                osp.join(inputs, f) for f in os.listdir(inputs)
                if f.lower().endswith(IMG_EXTENSIONS))
            if not files:
                raise FileNotFoundError(
                    f'no image ({", ".join(IMG_EXTENSIONS)}) in {inputs}')
            return files
        if isinstance(inputs, (str, np.ndarray)):
            return [inputs]
        if isinstance(inputs, (list, tuple)):
            return list(inputs)
        raise TypeError('inputs must be an image path, a folder, an array '
                        f'or a list of them, got {type(inputs).__name__}')

    def _pair(self, inputs: list, texts, channel_order: str) -> List[dict]:
        if texts is None:
            raise ValueError('RISInferencer needs texts=: one referring '
                             'expression per image, or one for all')
        if isinstance(texts, str):
            texts = [texts] * len(inputs)
        texts = list(texts)
        if len(texts) != len(inputs):
            raise ValueError(f'{len(inputs)} images but {len(texts)} texts; '
                             'give one text per image or a single text')
        items = []
        for i, (image, text) in enumerate(zip(inputs, texts)):
            item = dict(index=i, text=check_text(text, i), img=None,
                        img_path=None)
            if isinstance(image, np.ndarray):
                item['img'] = to_bgr_image(image, channel_order, f'image {i}')
            elif isinstance(image, str):
                if not osp.isfile(image):
                    raise FileNotFoundError(f'image {i}: no file {image}')
                item['img_path'] = image
            else:
                raise TypeError(f'image {i}: expected a path or a numpy '
                                f'array, got {type(image).__name__}')
            items.append(item)
        return items

    def preprocess(self, inputs: list, batch_size: int = 1,
                   texts=None, channel_order: str = 'bgr'):
        """Pair images with texts and yield collated batches."""
        items = self._pair(inputs, texts, channel_order)
        self._items = items
        self._names = self._unique_names(items)
        chunks = self._get_chunk_data(map(self.pipeline, items), batch_size)
        yield from map(self.collate_fn, chunks)

    @staticmethod
    def _unique_names(items: List[dict]) -> List[str]:
        stems = [
            osp.splitext(osp.basename(it['img_path']))[0]
            if it['img_path'] else f'{it["index"]:05d}' for it in items
        ]
        if len(set(stems)) == len(stems):
            return stems
        return [f'{stem}_{i}' for i, stem in enumerate(stems)]

    # ------------------------------------------------------------------ #
    # call, drawing, outputs
    # ------------------------------------------------------------------ #
    def __call__(self,
                 inputs,
                 texts: Union[str, Sequence[str], None] = None,
                 batch_size: int = 1,
                 return_datasamples: bool = False,
                 out_dir: str = '',
                 draw: bool = True,
                 show: bool = False,
                 wait_time: float = 0,
                 channel_order: str = 'bgr',
                 return_logits: bool = False) -> dict:
        """Segment the object each expression refers to.

        Args:
            inputs (str | ndarray | list): An image path, a folder of
                images, a uint8 array ((H, W) / (H, W, 1) gray, (H, W, 3) or
                (H, W, 4) in ``channel_order``) or a list of paths / arrays.
            texts (str | list[str]): One expression per image, or one for
                all.
            batch_size (int): Images per forward pass. Defaults to 1.
            return_datasamples (bool): Return the ``SegDataSample`` objects
                instead of plain dicts. Defaults to False.
            out_dir (str): If set, overlays go to ``out_dir/vis/<name>.png``
                and 0/255 masks to ``out_dir/pred/<name>.png`` (``<name>``:
                the file stem, or the input index for arrays).
            draw (bool): Return (and, with ``out_dir``, write) overlays.
                Defaults to True.
            show (bool): Display each overlay in a window. Defaults to
                False.
            wait_time (float): Seconds per displayed overlay.
            channel_order (str): ``'bgr'`` or ``'rgb'`` for array inputs.
            return_logits (bool): Add the mask logits (H, W) float32 to each
                prediction. Defaults to False.

        Returns:
            dict: ``predictions``: one dict per input with ``mask`` (H, W)
            uint8 0/1, ``text``, ``input`` (path or index), ``name``
            (and ``logits``); ``visualization``: the overlays (BGR uint8)
            or an empty list.
        """
        vis_dir = osp.join(out_dir, 'vis') if out_dir and draw else ''
        pred_dir = osp.join(out_dir, 'pred') if out_dir else ''
        result = super().__call__(
            inputs,
            return_datasamples=return_datasamples,
            batch_size=batch_size,
            texts=texts,
            channel_order=channel_order,
            show=show,
            wait_time=wait_time,
            draw=draw,
            vis_dir=vis_dir,
            pred_dir=pred_dir,
            return_logits=return_logits)
        if out_dir:
            print_log(
                f'RISInferencer: wrote {len(self._names)} masks to '
                f'{osp.abspath(pred_dir)}' +
                (f' and overlays to {osp.abspath(vis_dir)}'
                 if vis_dir else ''),
                logger='current')
        return result

    def visualize(self, inputs: list, preds: list, show: bool = False,
                  wait_time: float = 0, draw: bool = True,
                  vis_dir: str = '') -> List[np.ndarray]:
        """Draw each prediction with its expression (BGR overlays)."""
        if not draw and not show:
            return []
        from mmris.visualization import draw_ref_seg
        drawings = []
        for item, name, pred in zip(self._items, self._names, preds):
            image = item['img'] if item['img'] is not None else \
                mmcv.imread(item['img_path'], flag='color')
            mask = pred.pred_sem_seg.data[0].cpu().numpy()
            drawing = draw_ref_seg(image, mask, text=item['text'])
            if show:
                mmcv.imshow(drawing, name, int(round(wait_time * 1000)))
            if vis_dir:
                mmcv.imwrite(drawing, osp.join(vis_dir, f'{name}.png'))
            drawings.append(drawing)
        return drawings

    def postprocess(self, preds: list, visualization: list,
                    return_datasample: bool = False, pred_dir: str = '',
                    return_logits: bool = False) -> Dict[str, list]:
        """Masks as numpy arrays (and PNG files in ``pred_dir``)."""
        predictions = []
        for item, name, pred in zip(self._items, self._names, preds):
            mask = pred.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)
            if pred_dir:
                mmcv.imwrite(mask * 255, osp.join(pred_dir, f'{name}.png'))
            if return_datasample:
                predictions.append(pred)
                continue
            out = dict(
                mask=mask,
                text=item['text'],
                input=item['img_path'] if item['img_path'] else item['index'],
                name=name)
            if return_logits and 'seg_logits' in pred:
                out['logits'] = pred.seg_logits.data[0].float().cpu().numpy()
            predictions.append(out)
        return dict(predictions=predictions, visualization=visualization)


