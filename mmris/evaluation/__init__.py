"""Evaluation metrics of mmris."""
from .metrics import RefSegMetric

__all__ = ['RefSegMetric']
