"""Training loop of mmris."""
from .resumable_loop import RISEpochBasedTrainLoop, seed_everything

__all__ = ['RISEpochBasedTrainLoop', 'seed_everything']
