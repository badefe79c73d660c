"""Several necks applied in turn (docs/design.md section 2).

``RefSegmentor(neck=[cfg_a, cfg_b])`` builds this: for example a
:class:`SimpleFeaturePyramid` that turns a plain ViT's single-stride taps
into a stride 8/16/32 pyramid, followed by the stride-based
:class:`CRISNeck`. Each neck receives the declared output of the one before.
"""
from typing import List, Optional, Sequence

import torch.nn as nn

from mmris.registry import MODELS
from mmris.structures import FeatureSpec, VLFeatures
from ..utils import build_with_spec, output_spec_of
from .base_ris_neck import BaseRISNeck

__all__ = ['SequentialNeck']


@MODELS.register_module()
class SequentialNeck(BaseRISNeck):
    """Apply ``necks`` one after the other.

    Args:
        necks (Sequence[dict]): Neck configs, applied in order.
        in_spec (FeatureSpec, optional): Declared input (from the
            backbone); handed to the first neck, and each neck's output
            spec to the next.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 necks: Sequence[dict],
                 in_spec: Optional[FeatureSpec] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not necks:
            raise ValueError('SequentialNeck needs at least one neck config')
        modules: List[nn.Module] = []
        spec = in_spec
        producer = f'{in_spec.source or "backbone"}' if in_spec else 'input'
        for cfg in necks:
            module, name = build_with_spec(cfg, spec, producer)
            modules.append(module)
            spec = output_spec_of(module, spec)
            producer = f'neck {name}'
        self.necks = nn.ModuleList(modules)
        self._out_spec = spec

    def output_spec(self) -> Optional[FeatureSpec]:
        """The last neck's declared output."""
        return self._out_spec

    def forward(self, feats: VLFeatures) -> VLFeatures:
        """Run every neck in order."""
        for neck in self.necks:
            feats = neck(feats)
        return feats
