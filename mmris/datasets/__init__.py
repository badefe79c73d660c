"""Datasets for referring image segmentation."""
from .custom_ris import RISCustomDataset
from .refcoco import DEFAULT_SPLIT_BY, REFER_SPLITS, RefCOCODataset
from .samplers import ResumableSampler, SeededIndex
from .refer_loader import (decode_ref_mask, load_instances, load_ref_mask,
                           load_refs_pickle)
from .transforms import *  # noqa: F401,F403

__all__ = [
    'RefCOCODataset', 'RISCustomDataset', 'REFER_SPLITS', 'DEFAULT_SPLIT_BY',
    'load_refs_pickle', 'load_instances', 'decode_ref_mask', 'load_ref_mask',
    'ResumableSampler', 'SeededIndex'
]
