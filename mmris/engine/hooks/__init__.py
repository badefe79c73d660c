"""Runner hooks of mmris."""
from .ref_seg_visualization_hook import RefSegVisualizationHook
from .ris_checkpoint_hook import RISCheckpointHook

__all__ = ['RefSegVisualizationHook', 'RISCheckpointHook']
