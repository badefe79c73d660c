"""Optimizer-wrapper constructors of mmris."""
from .grouped_constructor import GroupedOptimWrapperConstructor, merge_groups

__all__ = ['GroupedOptimWrapperConstructor', 'merge_groups']
