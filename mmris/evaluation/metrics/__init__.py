"""Metrics for referring image segmentation."""
from .ref_seg_metric import RefSegMetric, metrics_from_records

__all__ = ['RefSegMetric', 'metrics_from_records']
