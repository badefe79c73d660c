from .base_ris_neck import BaseRISNeck
from .cris_neck import CRISNeck
from .asda_neck import ASDANeck
from .shared_fpn import SharedFPN

__all__ = ['BaseRISNeck', 'CRISNeck', 'ASDANeck', 'SharedFPN']
