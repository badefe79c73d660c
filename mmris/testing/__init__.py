"""Helpers for mmris's tests: synthetic data that needs no download."""
from .refer_data import (dump_py2_pickle, dumps_py2_pickle,
                         make_refer_data_root)

__all__ = ['make_refer_data_root', 'dump_py2_pickle', 'dumps_py2_pickle']
