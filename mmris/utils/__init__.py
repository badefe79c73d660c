from .checkpoint_compat import (load_trusted_checkpoint,
                                register_trusted_checkpoint_loader)
from .dist_utils import setup_cpu_distributed, shutdown_distributed
from .mmcv_compat import ensure_mmcv_ops
from .setup_env import register_all_modules
from .strict_loading import (CheckpointMismatchError, compare_state_dict,
                             load_weights_strictly)
from .tool_utils import (add_common_args, build_runner, check_cfg_option_keys,
                         load_tool_config, use_resumable_training,
                         warn_if_nothing_to_resume)

__all__ = [
    'ensure_mmcv_ops', 'register_trusted_checkpoint_loader',
    'load_trusted_checkpoint', 'register_all_modules', 'setup_cpu_distributed',
    'shutdown_distributed',
    'add_common_args', 'load_tool_config', 'build_runner',
    'check_cfg_option_keys', 'use_resumable_training',
    'warn_if_nothing_to_resume', 'CheckpointMismatchError',
    'compare_state_dict', 'load_weights_strictly'
]
