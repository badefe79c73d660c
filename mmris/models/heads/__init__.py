from .base_ris_head import BaseRISHead, stack_gt_masks

__all__ = ['BaseRISHead', 'stack_gt_masks']
