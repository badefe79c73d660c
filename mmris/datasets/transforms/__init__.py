"""Data transforms for referring image segmentation.

mmcv / mmseg transforms that fit as they are (``PhotoMetricDistortion``,
mmseg ``Resize``, ``RandomFlip`` for text-free data ...) resolve through the
parent registry without a prefix.
"""
from .affine_letterbox import RandomAffineLetterbox, flip_letterbox_matrix
from .flip import RandomFlipText, swap_left_right, swap_text_left_right
from .formatting import REF_META_KEYS, PackRefSegInputs
from .geometric import RandomAffine
from .loading import LoadRefImageFromFile, LoadRefMask
from .photometric import RandomHSV
from .resize import LetterboxResize, RefResize, letterbox_geometry

__all__ = [
    'LoadRefImageFromFile', 'LoadRefMask', 'LetterboxResize', 'RefResize',
    'letterbox_geometry', 'RandomFlipText', 'swap_left_right', 'RandomHSV',
    'RandomAffine', 'PackRefSegInputs', 'REF_META_KEYS',
    'RandomAffineLetterbox', 'flip_letterbox_matrix', 'swap_text_left_right'
]
