from .checkpoint_compat import (checkpoint_safe_globals,
                                register_checkpoint_safe_globals)
from .dist_utils import setup_cpu_distributed
from .mmcv_compat import ensure_mmcv_ops
from .setup_env import register_all_modules

__all__ = [
    'ensure_mmcv_ops', 'register_checkpoint_safe_globals',
    'checkpoint_safe_globals', 'register_all_modules', 'setup_cpu_distributed'
]
