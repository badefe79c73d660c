"""Engine components of mmris: hooks and the AMP-or-float32 optimizer
wrapper."""
from .amp_fallback import AutoAmpOptimWrapper, amp_available
from .hooks import RefSegVisualizationHook

__all__ = ['RefSegVisualizationHook', 'AutoAmpOptimWrapper', 'amp_available']
