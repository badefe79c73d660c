"""Engine components (hooks) of mmris."""
from .hooks import RefSegVisualizationHook

__all__ = ['RefSegVisualizationHook']
