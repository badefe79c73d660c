"""The referring segmentor: image + expression -> binary mask.

Implements the data path of docs/design.md section 1 and the evaluation
post-processing of section 4 (padding and letterbox undone, logits resized to
the original image, sigmoid, threshold 0.35).
"""
from typing import Dict, List, Optional

import torch
from mmengine.config import ConfigDict
from mmengine.structures import PixelData
from mmseg.models.segmentors import BaseSegmentor
from mmseg.models.utils import resize
from mmseg.utils import (ConfigType, OptConfigType, OptMultiConfig,
                         OptSampleList, SampleList)
from torch import Tensor

from mmris.registry import MODELS
from mmris.structures import FeatureSpec, VLFeatures
from ..utils import build_with_spec, output_spec_of

__all__ = ['RefSegmentor']


@MODELS.register_module()
class RefSegmentor(BaseSegmentor):
    """Backbone (image + text) -> optional neck -> mask head.

    The expressions travel in the samples' metainfo (``text``); the backbone
    owns its tokenizer, so the segmentor only hands it the raw strings.

    Shape contract (docs/design.md section 2): the backbone's declared
    output (``output_spec()``) is handed to the neck as ``in_spec`` and the
    neck's to the head, so channel and size arguments that only restate it
    may be left out of the config; a pairing that cannot work raises
    :class:`~mmris.structures.SpecMismatchError` here, naming both modules.
    The spec's input size is the data preprocessor's ``size`` when it has
    one, else the backbone's.

    Args:
        backbone (dict): Vision-language backbone config; called as
            ``backbone(images, texts)`` and returns :class:`VLFeatures`.
        decode_head (dict): Head config (a :class:`BaseRISHead`).
        neck (dict | list[dict], optional): Neck config
            (``VLFeatures -> VLFeatures``); a list chains several necks
            (e.g. a simple feature pyramid, then a CRIS neck).
        train_cfg (dict, optional): Training config handed to the head.
        test_cfg (dict, optional): Test config; ``threshold`` (default 0.35)
            is applied to the sigmoid of the logits.
        data_preprocessor (dict, optional): ``SegDataPreProcessor`` config.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 backbone: ConfigType,
                 decode_head: ConfigType,
                 neck: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        spec = output_spec_of(self.backbone, None)
        size = (data_preprocessor or {}).get('size')
        if spec is not None and size is not None:
            spec = spec.replace(img_size=tuple(size))
        producer = f'backbone {type(self.backbone).__name__}'
        if neck is not None:
            if isinstance(neck, (list, tuple)):
                neck = dict(type='SequentialNeck', necks=list(neck))
            self.neck, name = build_with_spec(neck, spec, producer)
            spec = output_spec_of(self.neck, spec)
            producer = f'neck {name}'
        self.decode_head, _ = build_with_spec(decode_head, spec, producer)
        #: Declared features reaching the head (None if undeclared).
        self.head_in_spec: Optional[FeatureSpec] = spec
        self.train_cfg = train_cfg
        self.test_cfg = ConfigDict(test_cfg or {})
        self.threshold = float(self.test_cfg.get('threshold', 0.35))
        self.align_corners = getattr(self.decode_head, 'align_corners', False)

    @staticmethod
    def _texts(batch_img_metas: List[dict]) -> List[str]:
        texts = []
        for i, meta in enumerate(batch_img_metas):
            text = meta.get('text')
            if not isinstance(text, str):
                raise KeyError(
                    f'sample {i} ({meta.get("img_path", "?")}) has no "text" '
                    'in its metainfo: pack it with PackRefSegInputs.')
            texts.append(text)
        return texts

    def extract_feat(self, inputs: Tensor,
                     batch_img_metas: List[dict]) -> VLFeatures:
        """Backbone and neck features of images and their expressions.

        Args:
            inputs (Tensor): Normalised images (B, 3, H, W).
            batch_img_metas (list[dict]): Metainfo with ``text`` per sample.

        Returns:
            VLFeatures: Features for the head.
        """
        feats = self.backbone(inputs, self._texts(batch_img_metas))
        if self.with_neck:
            visual = feats.visual
            feats = self.neck(feats)
            if feats.backbone_visual is None:
                feats = feats.replace(backbone_visual=visual)
        return feats

    def encode_decode(self, inputs: Tensor,
                      batch_img_metas: List[dict]) -> Tensor:
        """Mask logits (B, 1, H, W) at the network input size."""
        feats = self.extract_feat(inputs, batch_img_metas)
        return self.decode_head.predict(feats, batch_img_metas, self.test_cfg)

    def loss(self, inputs: Tensor,
             data_samples: SampleList) -> Dict[str, Tensor]:
        """Losses of a training batch.

        Args:
            inputs (Tensor): Normalised images (B, 3, H, W).
            data_samples (list[SegDataSample]): Samples with ``gt_sem_seg``
                and ``text`` in their metainfo.

        Returns:
            dict[str, Tensor]: Losses (and logged accuracies).
        """
        metas = [sample.metainfo for sample in data_samples]
        feats = self.extract_feat(inputs, metas)
        return self.decode_head.loss(feats, data_samples, self.train_cfg)

    def predict(self,
                inputs: Tensor,
                data_samples: OptSampleList = None) -> SampleList:
        """Predict masks at the original image resolution.

        Returns:
            list[SegDataSample]: Samples with ``seg_logits`` (1, H0, W0) and
            ``pred_sem_seg`` (1, H0, W0, bool) at ``ori_shape``.
        """
        if data_samples is None:
            raise ValueError('RefSegmentor.predict needs data_samples: the '
                             'expressions travel in their metainfo.')
        metas = [sample.metainfo for sample in data_samples]
        logits = self.encode_decode(inputs, metas)
        return self.postprocess_result(logits, data_samples)

    def _forward(self,
                 inputs: Tensor,
                 data_samples: OptSampleList = None) -> Tensor:
        """Raw head output (B, 1, h, w), e.g. for FLOP counting."""
        metas = [sample.metainfo for sample in data_samples or []]
        return self.decode_head.forward(self.extract_feat(inputs, metas))

    def postprocess_result(self, seg_logits: Tensor,
                           data_samples: SampleList) -> SampleList:
        """Undo padding, flip and letterbox; resize; threshold.

        For every sample, in order: crop the preprocessor's padding
        (``padding_size`` = left, right, top, bottom), undo a horizontal flip
        applied after resizing (``flip``), crop the letterbox border
        (``letterbox_padding`` = left, right, top, bottom; absent for a plain
        resize), resize bilinearly to ``ori_shape``, and threshold the
        sigmoid at ``test_cfg.threshold``.

        Args:
            seg_logits (Tensor): (B, 1, H, W) logits at the input size.
            data_samples (list[SegDataSample]): Samples to fill.

        Returns:
            list[SegDataSample]: The same samples with ``seg_logits`` and
            ``pred_sem_seg`` set.
        """
        if seg_logits.shape[1] != 1:
            raise ValueError('RefSegmentor expects one logit channel, got '
                             f'{seg_logits.shape[1]}')
        height, width = seg_logits.shape[-2:]
        for i, sample in enumerate(data_samples):
            meta = sample.metainfo
            left, right, top, bottom = meta.get('padding_size', (0, 0, 0, 0))
            logit = seg_logits[i:i + 1, :, top:height - bottom,
                               left:width - right]
            if meta.get('flip', False):
                direction = meta.get('flip_direction', 'horizontal')
                if direction != 'horizontal':
                    raise NotImplementedError(
                        f'test-time flip "{direction}" is not supported')
                logit = logit.flip(dims=(3, ))
            lb_left, lb_right, lb_top, lb_bottom = meta.get(
                'letterbox_padding', (0, 0, 0, 0))
            h, w = logit.shape[-2:]
            logit = logit[..., lb_top:h - lb_bottom, lb_left:w - lb_right]
            logit = resize(
                logit,
                size=tuple(meta['ori_shape'][:2]),
                mode='bilinear',
                align_corners=self.align_corners,
                warning=False)[0]
            # bool: 1 byte a pixel for the metric and the transfer
            pred = logit.sigmoid() > self.threshold
            sample.set_data({
                'seg_logits': PixelData(data=logit),
                'pred_sem_seg': PixelData(data=pred)
            })
        return data_samples
