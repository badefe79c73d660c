"""Engine components of mmris: hooks, the resumable training loop, the
AMP-or-float32 optimizer wrapper and the grouped optimizer constructor."""
from .amp_fallback import (AutoAmpOptimWrapper, amp_available,
                           clip_grad_norm_across_ranks_, maybe_fuse_optimizer,
                           select_amp_settings)
from .hooks import RefSegVisualizationHook, RISCheckpointHook
from .optimizers import GroupedOptimWrapperConstructor
from .runner import RISEpochBasedTrainLoop, seed_everything

__all__ = [
    'RefSegVisualizationHook', 'RISCheckpointHook', 'AutoAmpOptimWrapper',
    'amp_available', 'select_amp_settings', 'maybe_fuse_optimizer',
    'clip_grad_norm_across_ranks_', 'RISEpochBasedTrainLoop',
    'seed_everything', 'GroupedOptimWrapperConstructor'
]
