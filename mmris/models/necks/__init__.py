from .base_ris_neck import BaseRISNeck
from .cris_neck import CRISNeck
from .asda_neck import ASDANeck
from .ske_neck import SKENeck

__all__ = ['BaseRISNeck', 'CRISNeck', 'ASDANeck', 'SKENeck']
