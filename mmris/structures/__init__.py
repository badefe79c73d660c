from .feature_spec import (FeatureSpec, LevelSpec, SpecMismatchError,
                           resolve_arg)
from .vl_features import VLFeatures

__all__ = [
    'VLFeatures', 'FeatureSpec', 'LevelSpec', 'SpecMismatchError',
    'resolve_arg'
]
