from .adapter import Adapter
from .adapted_clip_block import AdaptedCLIPBlock
from .cross_modal_feature_extraction import CrossModalFeatureExtraction
from .cross_modal_fusion import CrossModalFusion
from .ske_layer import SKELayer

__all__ = [
    'Adapter', 'AdaptedCLIPBlock', 'CrossModalFeatureExtraction',
    'CrossModalFusion', 'SKELayer'
]
