"""Helpers for mmris's tests: synthetic data and a toy model (no download).

Importing this module registers ``ToyVLBackbone`` and ``ToyRISHead``; configs
use ``custom_imports = dict(imports=['mmris.testing'])``.
"""
from .refer_data import (dump_py2_pickle, dumps_py2_pickle,
                         make_refer_data_root)
from .hooks import ExitAfterIterHook
from .tiny_spm import make_tiny_spm, tiny_spm_path
from .toy_model import ToyRISHead, ToyVLBackbone

__all__ = [
    'make_refer_data_root', 'dump_py2_pickle', 'dumps_py2_pickle',
    'ToyVLBackbone', 'ToyRISHead', 'ExitAfterIterHook', 'make_tiny_spm',
    'tiny_spm_path'
]
