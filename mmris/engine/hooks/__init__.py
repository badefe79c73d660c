"""Runner hooks of mmris."""
from .ref_seg_visualization_hook import RefSegVisualizationHook

__all__ = ['RefSegVisualizationHook']
