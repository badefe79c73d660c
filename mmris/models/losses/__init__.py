from .base_mask_loss import BaseMaskLoss
from .bce_loss import MaskBCELoss
from .dice_loss import MaskDiceLoss
from .focal_loss import MaskFocalLoss

__all__ = ['BaseMaskLoss', 'MaskBCELoss', 'MaskDiceLoss', 'MaskFocalLoss']
