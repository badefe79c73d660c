from .asda_neck import ASDANeck
from .base_ris_neck import BaseRISNeck
from .cris_neck import CRISNeck
from .sequential_neck import SequentialNeck
from .simple_feature_pyramid import SimpleFeaturePyramid
from .ske_neck import SKENeck

__all__ = [
    'BaseRISNeck', 'CRISNeck', 'ASDANeck', 'SequentialNeck',
    'SimpleFeaturePyramid', 'SKENeck'
]
