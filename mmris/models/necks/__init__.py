from .base_ris_neck import BaseRISNeck

__all__ = ['BaseRISNeck']
