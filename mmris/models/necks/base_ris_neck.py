"""Base class of referring-segmentation necks (docs/design.md section 2)."""
from abc import ABCMeta, abstractmethod

from mmengine.model import BaseModule

from mmris.structures import VLFeatures

__all__ = ['BaseRISNeck']


class BaseRISNeck(BaseModule, metaclass=ABCMeta):
    """A neck maps :class:`VLFeatures` to :class:`VLFeatures`.

    It fuses language into the visual maps and returns the same container
    (``feats.replace(visual=[...])``), so that any head can follow any neck.
    Input channels and which levels are read (``in_channels``, ``in_index``)
    are constructor arguments of the subclass, never fixed to one backbone.
    """

    @abstractmethod
    def forward(self, feats: VLFeatures) -> VLFeatures:
        """Fuse the features; return a new container."""
