from .bce_loss import MaskBCELoss
from .dice_loss import MaskDiceLoss
from .focal_loss import MaskFocalLoss

__all__ = ['MaskBCELoss', 'MaskDiceLoss', 'MaskFocalLoss']
