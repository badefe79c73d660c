from .base_ris_head import BaseRISHead, stack_gt_masks
from .cris_decoder import CRISDecoder, CRISDecoderLayer
from .cris_head import CRISHead
from .wgda_head import WGDAHead
from .refiner_decoder import RefinerDecoder
from .risclip_head import RISCLIPHead

__all__ = [
    'BaseRISHead', 'stack_gt_masks', 'CRISDecoder', 'CRISDecoderLayer',
    'CRISHead', 'WGDAHead', 'RefinerDecoder', 'RISCLIPHead']
