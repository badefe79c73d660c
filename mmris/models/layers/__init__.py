"""Building blocks shared by the methods' necks and heads (docs/design.md
section 2.4): one attention-layer family and one sine positional encoding;
RISCLIP's Adapter, adapted CLIP block, CFE, cross-modal fusion and SKE layer.
Conv-norm-activation blocks are mmcv's ``ConvModule``."""
from .adapter import Adapter
from .adapted_clip_block import AdaptedCLIPBlock
from .cross_modal_feature_extraction import CrossModalFeatureExtraction
from .cross_modal_fusion import CrossModalFusion
from .positional_encoding import (sine_positional_encoding_1d,
                                  sine_positional_encoding_2d)
from .ske_layer import SKELayer
from .transformer_layer import FFN, TransformerLayer, TransformerStack

__all__ = [
    'sine_positional_encoding_1d', 'sine_positional_encoding_2d', 'FFN',
    'TransformerLayer', 'TransformerStack', 'Adapter', 'AdaptedCLIPBlock',
    'CrossModalFeatureExtraction', 'CrossModalFusion', 'SKELayer'
]
