"""Metrics for referring image segmentation."""
from .ref_seg_metric import RefSegMetric

__all__ = ['RefSegMetric']
