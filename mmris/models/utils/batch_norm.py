"""BatchNorm1d that also trains on a batch of one sample."""
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

__all__ = ['SafeBatchNorm1d']


class SafeBatchNorm1d(nn.BatchNorm1d):
    """``nn.BatchNorm1d`` that uses its running statistics for one sample.

    The sentence projections of CRIS (neck, public-code layout) and ASDA
    (Eq. 4 fusion) normalise a (B, C) sentence feature with BatchNorm1d,
    which raises on a training batch of one sample. Such batches happen: the
    last batch of an epoch, or a small per-process batch in distributed
    training. For them this layer normalises with the running statistics
    (and does not update them), as in evaluation; otherwise it is exactly
    ``nn.BatchNorm1d`` (same parameters, buffers and checkpoint keys).
    """

    def forward(self, x: Tensor) -> Tensor:
        """Normalise (B, C) or (B, C, L) features."""
        if self.training and x.shape[0] == 1:
            return F.batch_norm(x, self.running_mean, self.running_var,
                                self.weight, self.bias, False, 0.0, self.eps)
        return super().forward(x)
