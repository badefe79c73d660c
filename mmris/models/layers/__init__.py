"""Building blocks shared by the methods' necks and heads (docs/design.md
section 2.4): one attention-layer family and one sine positional encoding.
Conv-norm-activation blocks are mmcv's ``ConvModule``."""
from .joint_attention import FUSION_MODES, JointAttention
from .multiway import Multiway
from .positional_encoding import (sine_positional_encoding_1d,
                                  sine_positional_encoding_2d)
from .transformer_layer import FFN, TransformerLayer, TransformerStack

__all__ = [
    'sine_positional_encoding_1d', 'sine_positional_encoding_2d', 'FFN',
    'TransformerLayer', 'TransformerStack', 'Multiway', 'JointAttention',
    'FUSION_MODES'
]
