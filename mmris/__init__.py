"""mmris: referring image segmentation for MMSegmentation 1.x."""
# Order matters: both fixes must be in place before mmseg is imported.
from .utils.mmcv_compat import ensure_mmcv_ops

ensure_mmcv_ops()

from .utils.checkpoint_compat import register_trusted_checkpoint_loader  # noqa

register_trusted_checkpoint_loader()

from .version import __version__  # noqa: E402

__all__ = ['__version__']
