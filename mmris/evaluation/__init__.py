"""Evaluation metrics of mmris."""
from .metrics import RefSegMetric, metrics_from_records

__all__ = ['RefSegMetric', 'metrics_from_records']
