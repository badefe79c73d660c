from .ref_segmentor import RefSegmentor
from .staged_ref_segmentor import StagedRefSegmentor

__all__ = ['RefSegmentor', 'StagedRefSegmentor']
