from .vl_features import VLFeatures

__all__ = ['VLFeatures']
