"""Visualisation utilities of mmris."""
from .ref_seg_local_visualizer import RefSegLocalVisualizer
from .ref_seg_visualizer import draw_ref_seg

__all__ = ['draw_ref_seg', 'RefSegLocalVisualizer']
